/**
 * The field (and block) name under which the Registry records one op's code in its
 * `agent_operations` feed, exactly as OCS builds it (ocs-protocol §3.3): `{agent_address}_{op_name}`,
 * `.` and `-` turned into `_`, then OCS's field-name rules enforced, then verified.
 * `observatory.fake-data1` + `acq` ⇒ `observatory_fake_data1_acq`.
 */
import { enforceFieldNameRules, verifyDataFieldString } from '../feeds/field-names.js';

export type OperationFieldResult = { ok: true; field: string } | { ok: false; field: string; message: string };

export function operationField(agentAddress: string, opName: string): OperationFieldResult {
  const field = enforceFieldNameRules(`${agentAddress}_${opName}`.replace(/[.-]/g, '_'));
  try {
    verifyDataFieldString(field);
    return { ok: true, field };
  } catch (err) {
    return { ok: false, field, message: err instanceof Error ? err.message : String(err) };
  }
}
