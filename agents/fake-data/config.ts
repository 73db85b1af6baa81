import { z } from 'zod';

/** FakeDataAgent's own arguments, as OCS's `add_agent_args`. */
export const FakeDataArgsSchema = z
  .object({
    mode: z.enum(['idle', 'acq']).default('idle'),
    num_channels: z.coerce.number().int().min(1).max(1024).default(2),
    sample_rate: z.coerce.number().default(9.5),
    frame_length: z.coerce.number().int().default(60),
  })
  .strict();

export type FakeDataArgs = z.infer<typeof FakeDataArgsSchema>;
