/**
 * Field-name rules for recorded feed data, identical to OCS (`Feed.verify_data_field_string`
 * and `Feed.enforce_field_name_rules`). A valid name contains only `[a-zA-Z0-9_]`, starts with a
 * letter after any number of leading underscores, and is 1 to 255 characters long. InfluxDB and
 * the so3g aggregator both depend on these rules, so a name that breaks them is refused at
 * publish time rather than dropped downstream.
 */
import { InvalidParamsError } from '../errors.js';

export const MAX_FIELD_NAME_LENGTH = 255;

const INVALID_CHAR = /[^a-zA-Z0-9_]/u;
const INVALID_CHARS = /[^a-zA-Z0-9_]/gu;
const NON_LETTER_START = /^[^a-zA-Z]/;

/**
 * Throws InvalidParamsError (with OCS's message text) when `field` is not a valid data field
 * name; returns true otherwise. An all-underscore name such as `_` passes, as in OCS.
 */
export function verifyDataFieldString(field: string): true {
  if (!field) {
    throw new InvalidParamsError('Empty field name encountered, please enter a valid field name.', { details: { field } });
  }
  const bad = INVALID_CHAR.exec(field);
  if (bad) {
    throw new InvalidParamsError(
      `message 'data' block contains the key ${field} with the invalid character '${bad[0]}'. ` +
        'Valid characters are a-z, A-Z, 0-9, and underscore.',
      { details: { field, character: bad[0] } },
    );
  }
  if (NON_LETTER_START.test(stripUnderscores(field))) {
    throw new InvalidParamsError(
      `message 'data' block contains the key ${field}, which does not start with a letter ` +
        '(after any number of leading underscores.)',
      { details: { field } },
    );
  }
  if (field.length > MAX_FIELD_NAME_LENGTH) {
    throw new InvalidParamsError(
      `message 'data' block contains key ${field} which exceeds the valid length of ${MAX_FIELD_NAME_LENGTH} characters.`,
      { details: { field, length: field.length } },
    );
  }
  return true;
}

/**
 * Turns any string into a name that follows the rules where possible: `""` → `invalid_field`,
 * spaces → `_`, other invalid characters deleted, leading non-letters removed after the leading
 * underscores (which are kept), truncated to 255. The result can still be empty (`é` → `""`) and
 * is not checked for collisions with other names.
 */
export function enforceFieldNameRules(fieldName: string): string {
  let name = fieldName === '' ? 'invalid_field' : fieldName;
  name = name.replaceAll(' ', '_').replace(INVALID_CHARS, '');
  const underscores = /^_*/.exec(name)?.[0] ?? '';
  name = name.slice(underscores.length).replace(/^[^a-zA-Z]*/, '');
  return (underscores + name).slice(0, MAX_FIELD_NAME_LENGTH);
}

function stripUnderscores(s: string): string {
  return s.replace(/^_+/, '').replace(/_+$/, '');
}
