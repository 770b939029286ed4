package platform

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"sleutel/domain/es"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// readModelProjections are the projections that only write read models: replaying
// them has no effect outside the read store (no mail, no commands).
func readModelProjections(kv projections.KV) []projections.Projection {
	locations := newLocations()
	return []projections.Projection{
		projections.NewLockViews(kv, projections.NewAccessIndex(kv, locations.load)),
		projections.NewLockLog(kv),
		projections.NewAccountViews(kv, nil),
		projections.NewAccountIndex(kv),
		projections.NewOrganizationViews(kv),
		projections.NewBuildingViews(kv),
	}
}

// Replay rebuilds every read model from position zero into the read store at dir,
// which should be new (SPEC H2). It returns the number of events replayed. It runs
// the projections on every core, thousands of events per table added to the read
// store (see ReplayReadModels).
func Replay(ctx context.Context, log interface {
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
}, dir string) (int, error) {
	stats, err := replay(ctx, log, dir, readModelProjections, ReplayOptions{})
	return int(stats.Events), err
}

// CompareReadModels compares the read models of two read stores key by key: the
// keys of the read-model projections, not checkpoints (they record how a store was
// built) nor the bookkeeping of process managers (a replay does not run them). It
// returns "" when they are identical and a description of the first difference.
func CompareReadModels(ctx context.Context, a, b *readstore.Store) (string, error) {
	var start []byte
	for {
		pa, err := a.Scan(ctx, nil, start, 1024, false)
		if err != nil {
			return "", err
		}
		pb, err := b.Scan(ctx, nil, start, 1024, false)
		if err != nil {
			return "", err
		}
		pa, pb = withoutCheckpoints(pa), withoutCheckpoints(pb)
		for i := 0; i < len(pa) || i < len(pb); i++ {
			switch {
			case i >= len(pa):
				return fmt.Sprintf("only the second has %q", pb[i].Key), nil
			case i >= len(pb):
				return fmt.Sprintf("only the first has %q", pa[i].Key), nil
			case !bytes.Equal(pa[i].Key, pb[i].Key):
				return fmt.Sprintf("keys differ: %q and %q", pa[i].Key, pb[i].Key), nil
			case !bytes.Equal(pa[i].Value, pb[i].Value):
				return fmt.Sprintf("%q differs:\n%s\n%s", pa[i].Key, pa[i].Value, pb[i].Value), nil
			}
		}
		if len(pa) == 0 && len(pb) == 0 {
			return "", nil
		}
		last := pa
		if len(pb) > len(pa) {
			last = pb
		}
		start = append(bytes.Clone(last[len(last)-1].Key), 0)
	}
}

func withoutCheckpoints(ps []projections.Pair) []projections.Pair {
	out := ps[:0]
	for _, p := range ps {
		if readModelKey(p.Key) {
			out = append(out, p)
		}
	}
	return out
}

// readModelKey reports whether a key belongs to one of the read models a replay
// rebuilds (every projection's keys start with its name).
func readModelKey(k []byte) bool {
	for _, name := range readModels {
		if bytes.HasPrefix(k, []byte(name+"/")) {
			return true
		}
	}
	return false
}

// WaitForReadModels waits until every read model has applied the whole log.
func (m *Main) WaitForReadModels(ctx context.Context, timeout time.Duration) error {
	last, err := m.Events.LastPosition(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return m.waiter.WaitFor(ctx, "", last)
}
