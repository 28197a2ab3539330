/**
 * zod's English messages, for the parses whose errors show zod's own text: a ThingSpace answer's shape,
 * the simulator's switch bodies, a configuration value that is not a string. `zod/mini` loads no locale
 * (its messages would all read "Invalid input"), and classic zod's English costs every Lambda bundle
 * its whole API. Passed per parse, not set with `z.config()`: a global locale would also make every
 * other parse in the process read English, so a test could pass on a message the bundle never gives.
 * Imported from `zod/locales` by name: `z.locales.en` would pull every locale into the bundle.
 */
import { en } from 'zod/locales';

export const IN_ENGLISH = { error: en().localeError };
