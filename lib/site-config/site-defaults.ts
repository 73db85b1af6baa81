/** The OCS site defaults that every part (router, clients, console) falls back to when a site file says nothing. */

/** OCS's default realm (`wamp_realm`). */
export const DEFAULT_REALM = 'test_realm';
/** OCS's default `address_root`: agents are `<root>.<instance-id>`. */
export const DEFAULT_ADDRESS_ROOT = 'observatory';
/** The Registry's usual instance id. */
export const DEFAULT_REGISTRY_ID = 'registry';
