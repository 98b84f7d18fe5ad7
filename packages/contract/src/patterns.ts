/**
 * The name and id patterns of the contract, written once. Each one is linear
 * (README: regex rule); test/regex-safety.test.ts proves it for every route.
 */

/** A ticket reference: `CASE-123456`. */
export const TICKET_PATTERN = '^[A-Za-z0-9._-]{1,64}$';

/** A certificate's name, which is its file name on the hosts. */
export const NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';

/** An environment's or a front-end's name. */
export const ENV_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

/** A job id (time-ordered, unguessable: `mwyu1-0123456789abcdef`). */
export const JOB_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** A target id: `<environment>/<front-end>`. */
export const TARGET_ID_PATTERN = `${ENV_PATTERN.slice(0, -1)}/${ENV_PATTERN.slice(1)}`;

/** A person or principal: an API principal's name, or a ticket system's requester or approver. */
export const PERSON_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';
