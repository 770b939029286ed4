package esdbdouble

import (
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// EventStoreDB's expected-version constants, as the server uses them internally.
const (
	expectNoStream     int64 = -1
	expectAny          int64 = -2
	expectStreamExists int64 = -4
)

// readBatchSize is the server's page size for subscriptions (and its search window
// when the client asks for none).
const readBatchSize = 32

type streamsService struct {
	streams.UnimplementedStreamsServer
	d *Double
}

// proposed is one event of an append request.
type proposed struct {
	id          uuid.UUID
	typ         string
	contentType string
	data, meta  []byte
}

// Append implements the Streams.Append client-streaming call: options first, then
// the proposed messages.
func (s *streamsService) Append(srv streams.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "append: the first message must hold the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	var expected int64
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		expected = int64(o.Revision)
	case *streams.AppendReq_Options_NoStream:
		expected = expectNoStream
	case *streams.AppendReq_Options_Any:
		expected = expectAny
	case *streams.AppendReq_Options_StreamExists:
		expected = expectStreamExists
	default:
		return status.Error(codes.InvalidArgument, "append: no expected stream revision")
	}
	var events []proposed
	size := 0
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		msg := req.GetProposedMessage()
		if msg == nil {
			return status.Error(codes.InvalidArgument, "append: expected a proposed message")
		}
		typ, ok := msg.GetMetadata()["type"]
		if !ok {
			return missingMetadata("type")
		}
		ct, ok := msg.GetMetadata()["content-type"]
		if !ok {
			return missingMetadata("content-type")
		}
		id, err := fromProtoUUID(msg.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, "append: "+err.Error())
		}
		size += len(typ) + len(msg.GetData()) + len(msg.GetCustomMetadata())
		if size > s.d.maxSize() {
			return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", s.d.maxSize())
		}
		events = append(events, proposed{id: id, typ: typ, contentType: ct,
			data: append([]byte(nil), msg.GetData()...), meta: append([]byte(nil), msg.GetCustomMetadata()...)})
	}
	if err := srv.Context().Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return srv.SendAndClose(s.d.append(stream, expected, events))
}

func missingMetadata(key string) error {
	return status.Errorf(codes.InvalidArgument, "Required Metadata Property '%s' is missing", key)
}

func (d *Double) maxSize() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxAppendSize
}

// append applies the server's commit check (IndexWriter.CheckCommit) and writes.
func (d *Double) append(stream string, expected int64, events []proposed) *streams.AppendResp {
	d.mu.Lock()
	defer d.mu.Unlock()
	evs := d.streams[stream]
	cur := int64(len(evs)) - 1 // -1: no stream

	wrong := func() *streams.AppendResp { return wrongExpectedVersion(expected, cur) }
	idempotent := func(end *record) *streams.AppendResp {
		if d.legacyIdempotent {
			return success(int64(end.rev), 0)
		}
		return success(int64(end.rev), end.pos)
	}

	switch {
	case expected == expectAny || expected == expectStreamExists:
		if expected == expectStreamExists && cur < 0 {
			return wrong()
		}
		// Best effort, as the server's committed-events cache: the same ids already
		// in this stream make the write idempotent.
		var end *record
		for i, e := range events {
			r, ok := d.byID[e.id]
			if !ok || r.stream != stream {
				if i == 0 {
					end = nil
					break
				}
				return wrong() // part of the batch is there: corrupted idempotency
			}
			end = r
		}
		if end != nil {
			return idempotent(end)
		}
	case expected < cur:
		if len(events) == 0 {
			return wrong()
		}
		var end *record
		for i, e := range events {
			rev := expected + 1 + int64(i)
			if rev > cur || evs[rev].id != e.id {
				return wrong() // not the same events: a real conflict (or corrupted idempotency)
			}
			end = evs[rev]
		}
		return idempotent(end)
	case expected > cur:
		return wrong()
	}

	// expected == cur, or any/stream exists without a duplicate: write.
	if len(events) == 0 {
		return success(cur, 0)
	}
	created := d.now().UnixNano() / 100
	var last *record
	for i, e := range events {
		r := &record{id: e.id, stream: stream, typ: e.typ, contentType: e.contentType,
			rev: uint64(cur + 1 + int64(i)), pos: d.next, created: created, data: e.data, meta: e.meta}
		d.next += prepareSize(r)
		d.log = append(d.log, r)
		evs = append(evs, r)
		d.byID[r.id] = r
		last = r
	}
	d.streams[stream] = evs
	close(d.wake)
	d.wake = make(chan struct{})
	return success(int64(last.rev), last.pos)
}

// prepareSize is the size of a log-format-v2 prepare record holding r: the length
// prefix and suffix, the fixed header (type, version, log position, flags,
// transaction position and offset, expected version, event and correlation ids,
// timestamp) and the variable parts.
func prepareSize(r *record) uint64 {
	const fixed = 4 + 1 + 1 + 8 + 2 + 8 + 4 + 8 + 16 + 16 + 8 + 4 + 4 + 4
	str := func(s string) int { return uvarintLen(len(s)) + len(s) }
	return uint64(fixed + str(r.stream) + str(r.typ) + len(r.data) + len(r.meta))
}

func uvarintLen(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(n))
}

// success builds the server's Success answer: revision -1 means no stream, position
// 0 means no position.
func success(rev int64, pos uint64) *streams.AppendResp {
	ok := &streams.AppendResp_Success{}
	if rev < 0 {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(rev)}
	}
	if pos == 0 {
		ok.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		ok.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{CommitPosition: pos, PreparePosition: pos}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}}
}

// wrongExpectedVersion fills both generations of fields, as Streams.Append.cs does.
func wrongExpectedVersion(expected, cur int64) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	switch expected {
	case expectAny:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: ^uint64(0)}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(expected)}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: uint64(expected)}
	}
	if cur < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(cur)}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(cur)}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// Read implements Streams.Read: stream reads, $all reads and $all subscriptions.
func (s *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	if o == nil {
		return status.Error(codes.InvalidArgument, "read: no options")
	}
	asString := o.GetUuidOption().GetString_() != nil
	filter, err := newFilter(o.GetFilter())
	if err != nil {
		return err
	}
	switch {
	case o.GetSubscription() != nil:
		if o.GetAll() == nil {
			return status.Error(codes.Unimplemented, "the double subscribes to $all only")
		}
		return s.d.subscribeAll(o.GetAll(), filter, asString, srv)
	case o.GetStream() != nil:
		return s.d.readStream(o.GetStream(), o.GetReadDirection() == streams.ReadReq_Options_Backwards, o.GetCount(), asString, srv)
	case o.GetAll() != nil:
		return s.d.readAll(o.GetAll(), o.GetReadDirection() == streams.ReadReq_Options_Backwards, o.GetCount(), filter, asString, srv)
	default:
		return status.Error(codes.InvalidArgument, "read: neither a stream nor $all")
	}
}

func (d *Double) readStream(o *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64, asString bool, srv streams.Streams_ReadServer) error {
	name := string(o.GetStreamIdentifier().GetStreamName())
	d.mu.Lock()
	evs, ok := d.streams[name]
	var out []*record
	if ok && count > 0 {
		n := uint64(len(evs))
		if !backwards {
			from := uint64(0)
			switch r := o.GetRevisionOption().(type) {
			case *streams.ReadReq_Options_StreamOptions_Revision:
				from = r.Revision
			case *streams.ReadReq_Options_StreamOptions_End:
				from = n
			}
			for i := from; i < n && uint64(len(out)) < count; i++ {
				out = append(out, evs[i])
			}
		} else {
			from := int64(n) - 1
			switch r := o.GetRevisionOption().(type) {
			case *streams.ReadReq_Options_StreamOptions_Revision:
				if r.Revision < n {
					from = int64(r.Revision)
				}
			case *streams.ReadReq_Options_StreamOptions_Start:
				from = 0
			}
			for i := from; i >= 0 && uint64(len(out)) < count; i-- {
				out = append(out, evs[i])
			}
		}
	}
	d.mu.Unlock()
	if !ok {
		return srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	}
	for _, r := range out {
		if err := srv.Send(readEvent(r, asString)); err != nil {
			return err
		}
	}
	return nil
}

func (d *Double) readAll(o *streams.ReadReq_Options_AllOptions, backwards bool, count uint64, f *filter, asString bool, srv streams.Streams_ReadServer) error {
	d.mu.Lock()
	var out []*record
	n := len(d.log)
	if !backwards {
		from := 0
		switch p := o.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			from = d.firstAtOrAfter(p.Position.GetCommitPosition(), p.Position.GetPreparePosition())
		case *streams.ReadReq_Options_AllOptions_End:
			from = n
		}
		for i := from; i < n && uint64(len(out)) < count; i++ {
			if f.match(d.log[i]) {
				out = append(out, d.log[i])
			}
		}
	} else {
		from := n - 1
		switch p := o.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			from = d.firstAtOrAfter(p.Position.GetCommitPosition(), p.Position.GetPreparePosition()) - 1
		case *streams.ReadReq_Options_AllOptions_Start:
			from = -1
		}
		for i := from; i >= 0 && uint64(len(out)) < count; i-- {
			if f.match(d.log[i]) {
				out = append(out, d.log[i])
			}
		}
	}
	d.mu.Unlock()
	for _, r := range out {
		if err := srv.Send(readEvent(r, asString)); err != nil {
			return err
		}
	}
	return nil
}

// firstAtOrAfter returns the index of the first event whose position (pos, pos) is
// at or after (commit, prepare), or len(log). The caller holds d.mu.
func (d *Double) firstAtOrAfter(commit, prepare uint64) int {
	lo, hi := 0, len(d.log)
	for lo < hi {
		m := (lo + hi) / 2
		p := d.log[m].pos
		if p < commit || (p == commit && p < prepare) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// subscribeAll serves one $all subscription from a single cursor over the log:
// catch-up and live are the same loop, so nothing is lost or repeated where they
// meet.
func (d *Double) subscribeAll(o *streams.ReadReq_Options_AllOptions, f *filter, asString bool, srv streams.Streams_ReadServer) error {
	ctx := srv.Context()
	d.mu.Lock()
	cursor := 0
	switch p := o.GetAllOption().(type) {
	case *streams.ReadReq_Options_AllOptions_End:
		cursor = len(d.log)
	case *streams.ReadReq_Options_AllOptions_Position:
		// The server reads one event from the position and starts after it.
		cursor = d.firstAtOrAfter(p.Position.GetCommitPosition(), p.Position.GetPreparePosition())
		if cursor < len(d.log) {
			cursor++
		}
	}
	dropped := d.drop
	d.live++
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.live--
		d.mu.Unlock()
	}()

	if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	dropErr := status.Error(codes.Aborted, "Operation timed out: Consumer too slow to handle event while live. Client resubscription required.")
	considered := uint64(0)
	caughtUp := false
	for {
		d.mu.Lock()
		end := min(cursor+readBatchSize, len(d.log))
		batch := append([]*record(nil), d.log[cursor:end]...)
		wake := d.wake
		d.mu.Unlock()

		if len(batch) == 0 {
			if !caughtUp {
				caughtUp = true
				if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}}); err != nil {
					return err
				}
			}
			select {
			case <-wake:
				continue
			case <-dropped:
				return dropErr
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		for _, r := range batch {
			select {
			case <-dropped:
				return dropErr
			default:
			}
			cursor++
			if f.match(r) {
				if err := srv.Send(readEvent(r, asString)); err != nil {
					return err
				}
			}
			if f == nil {
				continue
			}
			considered++
			if considered >= f.checkpointInterval {
				considered = 0
				if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
					CommitPosition: r.pos, PreparePosition: r.pos}}}); err != nil {
					return err
				}
			}
		}
	}
}

func readEvent(r *record, asString bool) *streams.ReadResp {
	id := toProtoUUID(r.id)
	if asString {
		id = &shared.UUID{Value: &shared.UUID_String_{String_: r.id.String()}}
	}
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               id,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.rev,
			PreparePosition:  r.pos,
			CommitPosition:   r.pos,
			Metadata: map[string]string{
				"type":         r.typ,
				"content-type": r.contentType,
				"created":      strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.meta,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.pos},
	}}}
}

func toProtoUUID(id uuid.UUID) *shared.UUID {
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

func fromProtoUUID(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[:8], uint64(s.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(id[8:], uint64(s.GetLeastSignificantBits()))
		return id, nil
	}
	return uuid.Parse(u.GetString_())
}

// filter is a server-side $all filter: a regex or prefixes, on the stream name or
// on the event type. A nil *filter passes everything.
type filter struct {
	onStream           bool
	re                 *regexp.Regexp
	prefixes           []string
	checkpointInterval uint64
}

func newFilter(o *streams.ReadReq_Options_FilterOptions) (*filter, error) {
	if o == nil {
		return nil, nil
	}
	f := &filter{}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	switch e := o.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		f.onStream, expr = true, e.StreamIdentifier
	case *streams.ReadReq_Options_FilterOptions_EventType:
		expr = e.EventType
	default:
		return nil, status.Error(codes.InvalidArgument, "filter: neither stream nor event type")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter: %v", err)
		}
		f.re = re
	} else {
		f.prefixes = expr.GetPrefix()
	}
	window := uint64(readBatchSize)
	if m, ok := o.GetWindow().(*streams.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = uint64(m.Max)
	}
	mult := uint64(o.GetCheckpointIntervalMultiplier())
	if mult == 0 {
		return nil, status.Error(codes.InvalidArgument, "filter: checkpoint interval multiplier must be positive")
	}
	f.checkpointInterval = window * mult
	return f, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	s := r.typ
	if f.onStream {
		s = r.stream
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
