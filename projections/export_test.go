package projections

import "github.com/google/uuid"

// ForgetPast bounds what p remembers of its streams to n (100,000 otherwise), so
// a test sees it forget.
func ForgetPast(p Projection, n int) {
	switch p := p.(type) {
	case *LockLog:
		p.locks = newMemo[uuid.UUID, logState](n)
	case *LockViews:
		p.rows = newMemo[uuid.UUID, LockRow](n)
	case *OrganizationViews:
		p.revs = newMemo[orgStream, struct{}](n)
	default:
		panic("ForgetPast: no memory to bound")
	}
}
