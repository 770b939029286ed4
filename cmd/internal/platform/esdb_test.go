package platform_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
	"sleutel/infra/esdb/esdbdouble"
)

// TestOnEventStoreDB runs the platform with --store esdb://… against the in-test
// EventStoreDB protocol double: the same journey works over the adapter's gRPC path.
func TestOnEventStoreDB(t *testing.T) {
	conn, _ := esdbdouble.Start(t)
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dataDir(t), Store: conn,
		OperatorPassword: "operator-password-1", Logger: zap.NewNop(), Out: io.Discard}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })

	c := newClient(t, m.URL())
	c.signUp("ines")
	lock := expect(t, c.do("POST", "/v1/locks", map[string]string{"serial": "ES-1", "name": "Door", "time_zone": "UTC"}), 201)
	key := expect(t, c.do("POST", "/v1/locks/"+lock.str("id")+"/keys", map[string]any{"type": "code", "holder_name": "x"}), 201)
	dev := newClient(t, m.URL())
	dev.token = "Device " + lock.str("device_token")
	ok := expect(t, dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": key.str("pin")}), 200)
	require.Equal(t, true, ok.Body["allowed"])
	expect(t, c.do("DELETE", "/v1/locks/"+lock.str("id")+"/keys/"+key.str("id"), nil), 204)
	ok = expect(t, dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": key.str("pin")}), 200)
	require.Equal(t, false, ok.Body["allowed"], "a revoked key is refused at once")
	log := expect(t, c.do("GET", "/v1/locks/"+lock.str("id")+"/events", nil), 200)
	require.Len(t, log.Body["items"], 3)
}
