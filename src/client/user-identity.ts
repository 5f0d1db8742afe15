/** Who a simulated user is once logged in. */
export interface UserIdentity {
  /** index of the simulated user in the run (stable for a seed; global across shards) */
  index: number;
  userId: number;
  username: string;
  token: string;
}
