/**
 * Imported first by main.tsx: zod compiles its object parsers with Function() unless told not
 * to, and the page's Content-Security-Policy allows no eval. Schemas built after this are jitless.
 */
import { z } from 'zod';

z.config({ jitless: true });
