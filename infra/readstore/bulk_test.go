package readstore_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/readstore"
)

// TestIngest adds sorted tables to a bulk store: later tables win over earlier
// ones, deletions hide what was there, values of any size (past the write buffer,
// tables of no whole number of blocks) read back, and all of it is still there
// when the store is opened the ordinary way.
func TestIngest(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "read")
	s, err := readstore.OpenBulk(dir)
	require.NoError(t, err)
	ctx := t.Context()
	want := map[string][]byte{}
	value := func(i, size int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, size) }
	require.NoError(t, s.Ingest(ctx, func(set func(k, v []byte) error, _ func(k []byte) error) error {
		for i := range 500 {
			k, v := fmt.Sprintf("p/%04d", i), value(i, 1+i*37%5000)
			if i == 250 {
				v = value(i, 3<<20+123) // larger than the write buffer
			}
			want[k] = v
			if err := set([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, s.Ingest(ctx, func(set func(k, v []byte) error, del func(k []byte) error) error {
		for i := 0; i < 500; i += 3 {
			k := fmt.Sprintf("p/%04d", i)
			if i%2 == 0 {
				delete(want, k)
				if err := del([]byte(k)); err != nil {
					return err
				}
				continue
			}
			want[k] = []byte("second")
			if err := set([]byte(k), want[k]); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, s.Ingest(ctx, func(func(k, v []byte) error, func(k []byte) error) error { return nil }), "an empty table is no table")
	err = s.Ingest(ctx, func(set func(k, v []byte) error, _ func(k []byte) error) error {
		if err := set([]byte("q/2"), nil); err != nil {
			return err
		}
		return set([]byte("q/1"), nil)
	})
	require.Error(t, err, "keys out of order")
	v, err := s.Get(ctx, []byte("q/2"))
	require.NoError(t, err)
	require.Nil(t, v, "a failed table adds nothing")

	check := func(s *readstore.Store) {
		t.Helper()
		pairs, err := s.Scan(ctx, []byte("p/"), nil, 1000, false)
		require.NoError(t, err)
		require.Len(t, pairs, len(want))
		for _, p := range pairs {
			require.Equal(t, want[string(p.Key)], p.Value, "%s", p.Key)
		}
		v, err := s.Get(ctx, []byte("p/0250"))
		require.NoError(t, err)
		require.Equal(t, want["p/0250"], v)
	}
	check(s)
	require.NoError(t, s.FlushMemTables())
	require.NoError(t, s.Close())
	_, err = os.Stat(filepath.Join(dir, "bulk-ingest"))
	require.True(t, os.IsNotExist(err), "Close removes where tables were built")
	s, err = readstore.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	check(s)
}

// TestIngestElsewhere loads the writes into a store not opened for bulk.
func TestIngestElsewhere(t *testing.T) {
	t.Parallel()
	s, err := readstore.Open(filepath.Join(t.TempDir(), "read"))
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	require.NoError(t, s.Ingest(ctx, func(set func(k, v []byte) error, _ func(k []byte) error) error {
		return set([]byte("k"), []byte("v"))
	}))
	v, err := s.Get(ctx, []byte("k"))
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)
}
