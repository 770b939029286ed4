package projections

import "github.com/google/uuid"

// ForgetLocksPast bounds what p remembers to n locks (100,000 otherwise), so a
// test sees it forget.
func ForgetLocksPast(p *LockLog, n int) { p.locks = newMemo[uuid.UUID, logState](n) }
