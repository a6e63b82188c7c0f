// Raft roles as the API and the metrics spell them: snake_case, like every other field.
import type { Role } from '../../raft/core/types.js';

/** Every role, in the order the metrics list them. */
export const ROLES: readonly Role[] = ['follower', 'preCandidate', 'candidate', 'leader'];

export function roleName(role: Role): string {
  return role === 'preCandidate' ? 'pre_candidate' : role;
}
