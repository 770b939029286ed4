package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConfigure_mailAndProxies: --smtp and its companions select SMTP, the
// password only from the environment; --trusted-proxy repeats and replaces
// SLEUTEL_TRUSTED_PROXIES (A7).
func TestConfigure_mailAndProxies(t *testing.T) {
	t.Setenv("SLEUTEL_SMTP_PASSWORD", "s3cret")
	t.Setenv("SLEUTEL_SMTP_FROM", "Sleutel <no-reply@example.nl>")
	t.Setenv("SLEUTEL_TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.1")
	m, err := configure([]string{"--smtp", "smtp.example.nl:587", "--smtp-user", "sleutel"})
	require.NoError(t, err)
	require.Equal(t, "smtp.example.nl:587", m.Mail.SMTP)
	require.Equal(t, "sleutel", m.Mail.Username)
	require.Equal(t, "s3cret", m.Mail.Password)
	require.Equal(t, "Sleutel <no-reply@example.nl>", m.Mail.From)
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.1"}, m.TrustedProxies)

	m, err = configure([]string{"--trusted-proxy", "127.0.0.1", "--trusted-proxy", "::1"})
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1", "::1"}, m.TrustedProxies, "the flags replace the environment's list")
	require.Empty(t, m.Mail.SMTP, "the outbox by default")
	_, err = configure([]string{"--smtp-password", "x"})
	require.Error(t, err, "no password flag: it would show in the process list")
}
