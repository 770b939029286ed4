package readstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Retire deletes what the projections named wrote — every key under each name —
// and their checkpoints, in one durable batch. The platform calls it at start for
// projections replaced by a new version (organization_views_v1 by _v2), so an
// upgraded store holds no rows nothing reads. Retiring a name never used does
// nothing.
func (s *Store) Retire(ctx context.Context, names ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, name := range names {
		prefix := []byte(name + "/")
		if err := b.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
			return err
		}
		if err := b.Delete(append(bytes.Clone(checkpointPrefix), name...), nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("retire %v: %w", names, err)
	}
	return nil
}
