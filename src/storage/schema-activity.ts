// Row types of user activity (issue 19): when access tokens were issued to whom (migration 0033).

/** One row per user and second in which at least one access token was issued to them. */
export interface UserTokenActivityTable {
  user_id: string;
  issued_at: number;
}
