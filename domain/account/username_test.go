package account_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

func TestValidateUsername_A1(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, want string }{
		{"jan", "jan"},
		{"  Jan.de-Vries_2\t", "Jan.de-Vries_2"},
		{"gb_woonstad", "gb_woonstad"},
		{"Zoë", "Zoë"},
		{"Ärzte-42", "Ärzte-42"},
		{"ユーザー名", "ユーザー名"},
		{"...", "..."},
		{strings.Repeat("é", 64), strings.Repeat("é", 64)},
	}
	for _, tt := range ok {
		got, err := account.ValidateUsername(tt.in)
		require.NoError(t, err, "ValidateUsername(%q)", tt.in)
		require.Equal(t, tt.want, got, "A1 trimmed")
	}
	for _, bad := range []string{"", "   ", "ab", " ab ", strings.Repeat("a", 65), "jan de vries", "jan@example.nl",
		"jan+1", "jan!", "jan/x", "ja\x00n", "jan\u200b", "ja\xffn", "e\u0301e"} {
		_, err := account.ValidateUsername(bad)
		require.ErrorIs(t, err, account.ErrUsernameInvalid, "A1 ValidateUsername(%q)", bad)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	}
}

func TestReservation_A1(t *testing.T) {
	t.Parallel()
	jan, piet := uuid.New(), uuid.New()
	const key = "jan"
	reserved := account.UsernameReserved{AccountID: jan, UsernameKey: key}
	reserve := func(k string, id uuid.UUID) func(*account.Reservation) error {
		return func(r *account.Reservation) error { return r.Reserve(k, id) }
	}
	tests := []struct {
		name     string
		given    []es.Event
		when     func(*account.Reservation) error
		then     []es.Event
		wantErr  error
		wantCode string
	}{
		{"A1 a free username is reserved", nil, reserve(key, jan), []es.Event{reserved}, nil, ""},
		{"A1 a username taken by another account is refused", []es.Event{reserved}, reserve(key, piet), nil, account.ErrUsernameTaken, domain.EConflict},
		{"A1 reserving again for the holder records nothing", []es.Event{reserved}, reserve(key, jan), nil, nil, ""},
		{"A1 a reservation needs a key", nil, reserve("", jan), nil, nil, domain.EInvalid},
		{"A1 a reservation needs an account", nil, reserve(key, uuid.Nil), nil, nil, domain.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := account.RehydrateReservation(tt.given) // given
			err := tt.when(r)                           // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Equal(t, tt.then, r.Changes())
			require.Equal(t, uint64(len(tt.given)), r.Version())
		})
	}

	free := account.RehydrateReservation(nil)
	_, taken := free.Holder()
	require.False(t, taken)
	require.Empty(t, free.Key())
	held := account.RehydrateReservation([]es.Event{reserved})
	holder, taken := held.Holder()
	require.True(t, taken)
	require.Equal(t, jan, holder)
	require.Equal(t, key, held.Key())
}

func TestUsernameStream_A1(t *testing.T) {
	t.Parallel()
	id := account.UsernameStreamID("jan")
	require.Equal(t, uuid.MustParse("33cafe35-0c26-5df7-8036-3dc19712f14a"), id, "reservation streams never move")
	require.Equal(t, es.StreamName("username", id), account.UsernameStream("jan"))
	require.NotEqual(t, id, account.UsernameStreamID("jan2"))
	require.NoError(t, es.ValidateStream(account.UsernameStream("jan")))
}
