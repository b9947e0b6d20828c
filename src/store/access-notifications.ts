/**
 * The channel on which the database announces changes to what servers cache about access: `token:<jti>`
 * when an issued access token's record is deleted (revoked, or its grant or client revoked),
 * `account:<id>` when an account changes or goes. Triggers send them (see the migrations).
 */
export const ACCESS_CHANNEL = 'densaulyq_access';
