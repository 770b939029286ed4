package httpapi

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPI_AccountSchemasMatchViewTypes checks the account schemas against the
// Go types the handlers encode (A3-A8), as TestOpenAPI_SchemasMatchViewTypes does
// for the rest.
func TestOpenAPI_AccountSchemasMatchViewTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"AccountDetail":   reflect.TypeFor[accountView](),
		"SessionInfo":     reflect.TypeFor[sessionView](),
		"SessionInfoList": reflect.TypeFor[listBody[sessionView]](),
	} {
		t.Run(name, func(t *testing.T) {
			ref := doc.Components.Schemas[name]
			require.NotNil(t, ref, "components.schemas.%s", name)
			matchStruct(t, name, ref.Value, typ)
		})
	}
}

// TestClientAddr_A7: the connection's peer is the client, unless it is a proxy
// named in the configuration; only then does X-Forwarded-For count, read from the
// right past the trusted proxies. A spoofed header from anyone else changes nothing.
func TestClientAddr_A7(t *testing.T) {
	t.Parallel()
	proxies, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 192.0.2.7 ", ""})
	require.NoError(t, err)
	_, err = ParseTrustedProxies([]string{"not-a-network"})
	require.Error(t, err)
	for _, c := range []struct {
		name, remote string
		xff          []string
		proxies      []netip.Prefix
		want         string
	}{
		{"the peer, without proxies", "203.0.113.5:4411", nil, nil, "203.0.113.5"},
		{"a spoofed header without a trusted proxy is ignored", "203.0.113.5:4411", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"a spoofed header from a peer that is not a proxy is ignored", "203.0.113.5:4411", []string{"198.51.100.1"}, proxies, "203.0.113.5"},
		{"behind a trusted proxy, the address it added", "10.1.2.3:80", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"a client's own spoofed entry left of the proxy's is not believed", "10.1.2.3:80", []string{"198.51.100.99, 203.0.113.5"}, proxies, "203.0.113.5"},
		{"a chain of trusted proxies is walked past", "10.1.2.3:80", []string{"203.0.113.5, 192.0.2.7", "10.9.9.9"}, proxies, "203.0.113.5"},
		{"a malformed hop stops the walk at the last trusted one", "10.1.2.3:80", []string{"garbage"}, proxies, "10.1.2.3"},
		{"IPv4 in IPv6 is unmapped", "[::ffff:203.0.113.5]:1", nil, nil, "203.0.113.5"},
		{"IPv6", "[2001:db8::1]:443", nil, proxies, "2001:db8::1"},
	} {
		got, ok := clientAddr(c.remote, c.xff, c.proxies)
		require.True(t, ok, c.name)
		require.Equal(t, netip.MustParseAddr(c.want), got, c.name)
	}
	_, ok := clientAddr("pipe", nil, nil)
	require.False(t, ok)
}
