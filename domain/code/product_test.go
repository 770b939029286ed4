package code_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/code"
)

func TestParseProduct_P1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input  string
		kind   code.Kind
		keys   int
		years  int
		target code.TargetKind
	}{
		{"management-5y", code.KindManagement, 0, 5, code.TargetLock},
		{"shared-management-5y", code.KindSharedManagement, 0, 5, code.TargetLock},
		{"organization-management", code.KindOrganizationManagement, 0, 0, code.TargetAccount},
		{"keys-1", code.KindKeys, 1, 0, code.TargetLock},
		{"keys-10", code.KindKeys, 10, 0, code.TargetLock},
		{"keys-250", code.KindKeys, 250, 0, code.TargetLock},
		{"keys-2475", code.KindKeys, 2475, 0, code.TargetLock},
	}
	for _, tt := range tests {
		t.Run("P1 "+tt.input, func(t *testing.T) {
			t.Parallel()
			p, err := code.ParseProduct(tt.input)
			require.NoError(t, err)
			require.Equal(t, tt.kind, p.Kind())
			require.Equal(t, tt.keys, p.Keys())
			require.Equal(t, tt.years, p.Years())
			require.Equal(t, tt.target, p.Target())
			require.Equal(t, tt.input, p.String())
			b, err := json.Marshal(p)
			require.NoError(t, err)
			var back code.Product
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, p, back)
		})
	}
}

func TestParseProduct_P1_refusals(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "management", "management-5Y", "Management-5y", " management-5y", "management-10y",
		"keys", "keys-", "keys-0", "keys-2476", "keys-10000", "keys--1", "keys-+5", "keys-05", "keys-1.5", "keys-x", "keys-99999999999999999999", "keys"} {
		_, err := code.ParseProduct(bad)
		require.ErrorIs(t, err, code.ErrInvalidProduct, "ParseProduct(%q)", bad)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	}
}

func TestKeysProduct_P1(t *testing.T) {
	t.Parallel()
	p, err := code.KeysProduct(50)
	require.NoError(t, err)
	require.Equal(t, "keys-50", p.String())
	for _, n := range []int{-1, 0, code.MaxKeys + 1} {
		_, err := code.KeysProduct(n)
		require.ErrorIs(t, err, code.ErrInvalidProduct, "KeysProduct(%d)", n)
	}
	require.Equal(t, "management-5y", code.ManagementProduct().String())
	require.Equal(t, "shared-management-5y", code.SharedManagementProduct().String())
	require.Equal(t, "organization-management", code.OrganizationManagementProduct().String())
}

func TestProduct_zeroIsNotStored(t *testing.T) {
	t.Parallel()
	var zero code.Product
	require.True(t, zero.IsZero())
	require.Equal(t, code.TargetKind(""), zero.Target())
	_, err := json.Marshal(zero)
	require.Error(t, err)
	var p code.Product
	require.Error(t, json.Unmarshal([]byte(`"keys-0"`), &p))
}
