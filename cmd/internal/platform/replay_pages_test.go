package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/domain/report"
	"sleutel/infra/pebblestore"
	"sleutel/projections"
)

// keeper is a projection that keeps what a careless one would: the envelope's
// strings, past Handle.
type keeper struct{ kept []es.Metadata }

func (*keeper) Name() string { return "keeper_v1" }

func (k *keeper) Handle(_ context.Context, env es.Envelope) error {
	md := env.Metadata
	md.Extra = map[string]string{"stream": env.Stream, "type": env.Type}
	for key, v := range env.Metadata.Extra {
		md.Extra[key] = v
	}
	k.kept = append(k.kept, md)
	return nil
}

// TestReplayEnvelopesOwnTheirStrings: a replay reuses the pages it reads the log
// into, and the tests make a page garbage once applied (export_test.go), yet the
// strings a projection kept of every envelope still read as stored (owned).
func TestReplayEnvelopesOwnTheirStrings(t *testing.T) {
	require.True(t, poisonReleasedPages)
	require.Less(t, readPage, 10, "pages small enough to be reused")
	s, err := pebblestore.Open(filepath.Join(t.TempDir(), "events"), pebblestore.Options{})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	registry := Registry()
	var want []es.Metadata
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 40 {
		lockID := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i % 3)})
		e := report.Recorded{ReportID: fmt.Sprint("r", i), LockID: lockID, Type: report.Tamper, OccurredAt: at, RecordedAt: at}
		md := es.Metadata{Actor: fmt.Sprint("device:", i), CorrelationID: fmt.Sprint("corr-", i), CausationID: fmt.Sprint("cause-", i)}
		if i%4 == 0 {
			md.Extra = map[string]string{fmt.Sprint("k", i): fmt.Sprint("v", i)}
		}
		data, err := registry.Encode(uuid.New(), e, md)
		require.NoError(t, err)
		_, err = s.Append(ctx, report.Stream(lockID), es.AnyRevision(), data)
		require.NoError(t, err)
		kept := md
		kept.Extra = map[string]string{"stream": report.Stream(lockID), "type": report.RecordedType}
		for k, v := range md.Extra {
			kept.Extra[k] = v
		}
		want = append(want, kept)
	}
	k := &keeper{}
	stats, err := replay(ctx, s, filepath.Join(t.TempDir(), "replayed"), func(projections.KV) []projections.Projection {
		return []projections.Projection{k}
	}, ReplayOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 40, stats.Events)
	got, _ := json.Marshal(k.kept)
	wantJSON, _ := json.Marshal(want)
	require.JSONEq(t, string(wantJSON), string(got))
}
