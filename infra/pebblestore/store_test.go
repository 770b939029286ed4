package pebblestore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/pebblestore"
	"sleutel/infra/storetest"
)

var _ storetest.Store = (*pebblestore.Store)(nil)

func open(t testing.TB, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err, "Open(%s)", dir)
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		s := open(t, t.TempDir())
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return storetest.Subject{Store: s, Tamper: s.TamperPayload}
	})
}
