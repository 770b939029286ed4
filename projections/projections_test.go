package projections_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/projections"
)

type plain struct{}

func (plain) Name() string                              { return "plain_v1" }
func (plain) Handle(context.Context, es.Envelope) error { return nil }

type filtered struct{ plain }

func (filtered) Filter() es.Filter { return es.Filter{Categories: []string{"lock"}} }

func TestFilterOf(t *testing.T) {
	t.Parallel()
	require.Equal(t, es.Filter{}, projections.FilterOf(plain{}), "no filter: the whole log")
	require.Equal(t, es.Filter{Categories: []string{"lock"}}, projections.FilterOf(filtered{}))
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"keys_by_holder_v1", "a", "audit2"} {
		require.NoError(t, projections.ValidateName(ok), "ValidateName(%q)", ok)
	}
	long := make([]byte, projections.MaxName+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", "Keys", "1st", "_x", "keys-by-holder", "keys by holder", "clé", "a@b", string(long)} {
		require.Error(t, projections.ValidateName(bad), "ValidateName(%q)", bad)
	}
}
