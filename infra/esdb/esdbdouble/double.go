// Package esdbdouble is a protocol double for tests, not a server: an in-process gRPC
// endpoint on a loopback port that speaks the Streams and ServerFeatures services of
// EventStoreDB/KurrentDB, generated from the EventStore Go client's own protos, and
// keeps everything in memory. It exists so the EventStoreDB adapter (infra/esdb) runs
// its real wire path in every test run, without a container or a server.
//
// What it models, after the EventStoreDB server sources (v20+, log format v2):
//   - The transaction file. Every event is one self-committed prepare record
//     (implicit transaction), so its $all position has commit == prepare == the
//     record's log position, a byte offset that grows by each record's size. The
//     file opens with an epoch record, so no event sits at position 0.
//   - Appends: expected revision checks (any, no stream, stream exists, exact), the
//     WrongExpectedVersion response with both the current and the 20.6.0 fields
//     filled as the server fills them, idempotent writes by event id (expected
//     revision below the current one and the same ids at expected+1 …: success with
//     the original revision and the log position of the batch's last event;
//     otherwise wrong expected version), and a success position that is the log
//     position of the batch's last event.
//   - Reads: streams forwards and backwards from a revision, start or end (a missing
//     stream answers StreamNotFound); $all forwards from a position (inclusive) and
//     backwards from a position (exclusive).
//   - Subscriptions to $all: confirmation first, catch-up then live from one cursor
//     over the log (no gap, no duplicate at the switch, then CaughtUp), a start
//     position that skips the first event at or after it (the server reads one event
//     from the position and starts after it), stream-name or event-type filters by
//     regex or prefixes, and checkpoints every max-search-window × multiplier
//     considered events at the last considered event's position.
//
// What it does not model: clusters and gossip, TLS and users, stream metadata,
// deletes, links and projections, persistent subscriptions, batch appends, stream
// subscriptions. Calls to those answer Unimplemented.
package esdbdouble

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// ServerVersion is the version the double reports through ServerFeatures.
const ServerVersion = "24.10.0"

// DefaultMaxAppendSize is EventStoreDB's default limit on the size of one append.
const DefaultMaxAppendSize = 1024 * 1024

// epochRecordSize is the room taken by the epoch record that opens the log.
const epochRecordSize = 128

// record is one stored event. Records are never changed in place: TamperPayload
// swaps in a changed copy, so readers may hold pointers outside the lock.
type record struct {
	id          uuid.UUID
	stream      string
	typ         string
	contentType string
	rev         uint64
	pos         uint64 // log position of its prepare record; commit == prepare
	created     int64  // .NET ticks (100 ns) since the Unix epoch
	data        []byte
	meta        []byte
}

// Double is the in-memory state behind the gRPC endpoint. Its methods are safe for
// concurrent use.
type Double struct {
	mu      sync.Mutex
	log     []*record            // the whole log in position order
	streams map[string][]*record // by stream, in revision order
	byID    map[uuid.UUID]*record
	next    uint64        // log position of the next record
	wake    chan struct{} // closed and replaced whenever the log grows
	drop    chan struct{} // closed and replaced by DropSubscriptions
	live    int           // open subscriptions
	now     func() time.Time

	maxAppendSize    int
	legacyIdempotent bool
}

// New returns an empty Double that serves nothing yet; Start is the usual entry.
func New() *Double {
	return &Double{
		streams:       make(map[string][]*record),
		byID:          make(map[uuid.UUID]*record),
		next:          epochRecordSize,
		wake:          make(chan struct{}),
		drop:          make(chan struct{}),
		now:           time.Now,
		maxAppendSize: DefaultMaxAppendSize,
	}
}

// Register adds the double's services to s.
func (d *Double) Register(s *grpc.Server) {
	streams.RegisterStreamsServer(s, &streamsService{d: d})
	serverfeatures.RegisterServerFeaturesServer(s, &featuresService{})
}

// Start serves a fresh Double on a loopback port until t ends, and returns an
// esdb:// connection string for it (TLS off) and the Double. It fails t when the
// port cannot be opened.
func Start(t testing.TB) (connString string, d *Double) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("esdbdouble: listen: %v", err)
	}
	srv := grpc.NewServer(
		// The client pings every 10 s, also without calls in flight; EventStoreDB
		// accepts that, gRPC's default policy would not.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(17*1024*1024),
	)
	d = New()
	d.Register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns when Stop is called
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return fmt.Sprintf("esdb://%s?tls=false", lis.Addr().String()), d
}

// TamperPayload flips one byte of the stored payload of the event at stream and
// revision, behind every client's back, as an attacker with disk access would. It
// changes a digit when the payload holds one, so JSON payloads stay JSON. It returns
// an error when there is no such event or its payload is empty.
func (d *Double) TamperPayload(stream string, revision uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	evs := d.streams[stream]
	if revision >= uint64(len(evs)) {
		return fmt.Errorf("tamper %s revision %d: no such event", stream, revision)
	}
	old := evs[revision]
	if len(old.data) == 0 {
		return fmt.Errorf("tamper %s revision %d: empty payload", stream, revision)
	}
	changed := *old
	changed.data = append([]byte(nil), old.data...)
	i := 0
	for j, b := range changed.data {
		if b >= '0' && b <= '9' {
			i = j
			break
		}
	}
	if b := changed.data[i]; b >= '0' && b <= '9' {
		changed.data[i] = '0' + (b-'0'+1)%10
	} else {
		changed.data[i] ^= 0x01
	}
	evs[revision] = &changed
	for j, r := range d.log {
		if r == old {
			d.log[j] = &changed
			break
		}
	}
	if d.byID[old.id] == old {
		d.byID[old.id] = &changed
	}
	return nil
}

// DropSubscriptions ends every open $all subscription with the error EventStoreDB
// sends to a consumer that is too slow, so clients must resubscribe. It returns how
// many subscriptions were open.
func (d *Double) DropSubscriptions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.drop)
	d.drop = make(chan struct{})
	return d.live
}

// Subscriptions returns how many $all subscriptions are open.
func (d *Double) Subscriptions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// Events returns how many events the log holds.
func (d *Double) Events() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.log)
}

// SetMaxAppendSize changes the append size limit (DefaultMaxAppendSize at start).
func (d *Double) SetMaxAppendSize(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.maxAppendSize = n
}

// SetLegacyIdempotentPositions makes idempotent appends answer without a position,
// as servers did before the idempotent log position was read back (CommitCheckResult
// without IdempotentLogPosition), so clients must find the position themselves.
func (d *Double) SetLegacyIdempotentPositions(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.legacyIdempotent = on
}

// featuresService answers ServerFeatures the way a server without batch appends and
// persistent-subscription management would.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

// GetSupportedMethods lists the methods the double implements.
func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: ServerVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{MethodName: "read", ServiceName: svc},
			{MethodName: "append", ServiceName: svc},
		},
	}, nil
}
