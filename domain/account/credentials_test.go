package account_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/account"
)

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	ok := []struct{ in, want string }{
		{"jan@example.nl", "jan@example.nl"},
		{" Jan.de.Vries@Example.NL ", "Jan.de.Vries@example.nl"},
		{"jan+sleutel@mail.example.com", "jan+sleutel@mail.example.com"},
		{"zoë@bücher.example", "zoë@bücher.example"},
	}
	for _, tt := range ok {
		got, err := account.ValidateEmail(tt.in)
		require.NoError(t, err, "ValidateEmail(%q)", tt.in)
		require.Equal(t, tt.want, got)
	}
	for _, bad := range []string{"", "jan", "jan@", "@example.nl", "jan@localhost", "jan@example.", "jan@.example",
		"Jan <jan@example.nl>", "<jan@example.nl>", "jan@example.nl (Jan)", "jan@example.nl, piet@example.nl",
		"jan@@example.nl", "jan de vries@example.nl", strings.Repeat("a", 250) + "@example.nl"} {
		_, err := account.ValidateEmail(bad)
		require.ErrorIs(t, err, account.ErrEmailInvalid, "ValidateEmail(%q)", bad)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	}
}

func TestValidatePassword_A2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"A2 ten characters", "abcdefghij", nil},
		{"A2 surrounding spaces are part of it", "  secret pw  ", nil},
		{"A2 256 characters", strings.Repeat("x", 256), nil},
		{"A2 counted in characters, not bytes", strings.Repeat("é", 256), nil},
		{"A2 nine characters", "abcdefghi", account.ErrPasswordLength},
		{"A2 nine characters of two bytes", strings.Repeat("é", 9), account.ErrPasswordLength},
		{"A2 257 characters", strings.Repeat("x", 257), account.ErrPasswordLength},
		{"A2 at most 1024 bytes", strings.Repeat("😀", 256) + "x", account.ErrPasswordLength},
		{"A2 empty", "", account.ErrPasswordLength},
		{"A2 only white space", " \t \n          ", account.ErrPasswordBlank},
		{"A2 only Unicode white space", strings.Repeat("\u3000", 12), account.ErrPasswordBlank},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := account.ValidatePassword(tt.in)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr != nil {
				require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, r := range []account.Role{account.RoleOperator, account.RoleAuditor} {
		got, err := account.ParseRole(string(r))
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
	for _, bad := range []string{"", "Operator", "admin", "manager"} {
		_, err := account.ParseRole(bad)
		require.ErrorIs(t, err, account.ErrUnknownRole, "ParseRole(%q)", bad)
	}
}
