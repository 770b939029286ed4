package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/bus"
)

// ctxT returns a context that ends with the test, or after 30s.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newCategory returns a category no other test uses.
func newCategory(prefix string) string {
	return prefix + uuid.NewString()[:8]
}

// appendN appends n events {"n": from+i} of type test.happened to stream and
// returns their positions.
func appendN(t *testing.T, log bus.Log, stream string, from, n int) []es.Position {
	t.Helper()
	evs := make([]es.EventData, n)
	for i := range evs {
		evs[i] = es.EventData{
			ID:       uuid.Must(uuid.NewV7()),
			Type:     happenedType,
			Data:     fmt.Appendf(nil, `{"n":%d}`, from+i),
			Metadata: es.Metadata{Actor: "system:test", CorrelationID: "corr-" + strconv.Itoa(from+i)},
		}
	}
	res, err := log.Append(ctxT(t), stream, es.AnyRevision(), evs...)
	require.NoError(t, err, "Append(%s)", stream)
	out := make([]es.Position, n)
	for i := range out {
		out[i] = es.Pos(res.Position.Commit - uint64(n-1-i)) // the embedded store numbers events 1, 2, 3 …
	}
	return out
}

// recv returns the next message, failing the test after 10s.
func recv(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		require.True(t, ok, "messages channel closed")
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

func subscribe(t *testing.T, sub *bus.Subscriber, topic string) <-chan *message.Message {
	t.Helper()
	ch, err := sub.Subscribe(ctxT(t), topic)
	require.NoError(t, err, "Subscribe(%s)", topic)
	return ch
}

func TestSubscriber_AckAdvancesNackRedelivers(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("ack")
	stream := es.StreamName(cat, uuid.New())
	pos := appendN(t, store, stream, 0, 3)

	_, sub := newPubSub(t, store, "acker")
	msgs := subscribe(t, sub, cat)

	m := recv(t, msgs)
	require.Equal(t, pos[0].String(), m.Metadata.Get(bus.MetadataPosition))
	require.True(t, m.Nack())
	again := recv(t, msgs)
	require.Equal(t, m.UUID, again.UUID, "a nacked message comes again")
	require.NotSame(t, m, again, "as a new message")
	select {
	case <-m.Context().Done():
	default:
		t.Fatal("the nacked message's context is still live")
	}
	require.True(t, again.Ack())
	second := recv(t, msgs)
	require.Equal(t, pos[1].String(), second.Metadata.Get(bus.MetadataPosition), "ack moves on to the next event")
	require.NoError(t, sub.Close(), "Close writes the checkpoint")

	cp, err := store.LoadCheckpoint(ctxT(t), bus.CheckpointName("acker", cat))
	require.NoError(t, err)
	require.Equal(t, pos[0], cp, "the checkpoint is the last acked event; the unacked second is not in it")
}

func TestSubscriber_CheckpointSurvivesStoreReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cat := newCategory("reopen")
	stream := es.StreamName(cat, uuid.New())

	store := openStoreAt(t, dir)
	pos := appendN(t, store, stream, 0, 5)
	_, sub := newPubSub(t, store, "durable")
	msgs := subscribe(t, sub, cat)
	for i := range 3 {
		m := recv(t, msgs)
		require.Equal(t, pos[i].String(), m.Metadata.Get(bus.MetadataPosition))
		m.Ack()
	}
	recv(t, msgs) // the fourth, delivered but never acked
	require.NoError(t, sub.Close())
	require.NoError(t, store.Close())

	store = openStoreAt(t, dir)
	cp, err := store.LoadCheckpoint(ctxT(t), bus.CheckpointName("durable", cat))
	require.NoError(t, err)
	require.Equal(t, pos[2], cp, "checkpoint after reopening")
	_, sub = newPubSub(t, store, "durable")
	m := recv(t, subscribe(t, sub, cat))
	require.Equal(t, pos[3].String(), m.Metadata.Get(bus.MetadataPosition), "a new subscriber resumes after the last acked event")
	require.Equal(t, "3", m.Metadata.Get(bus.MetadataRevision))
}

func TestSubscriber_ConsumersAreIndependent(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("indep")
	appendN(t, store, es.StreamName(cat, uuid.New()), 0, 4)
	for _, consumer := range []string{"first", "second"} {
		_, sub := newPubSub(t, store, consumer)
		msgs := subscribe(t, sub, cat)
		for i := range 4 {
			m := recv(t, msgs)
			require.Equal(t, strconv.Itoa(i), m.Metadata.Get(bus.MetadataRevision), "consumer %s", consumer)
			m.Ack()
		}
		require.NoError(t, sub.Close())
	}
}

func TestSubscriber_RefusesASecondLiveSubscription(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	_, sub := newPubSub(t, store, "single")
	ctx, cancel := context.WithCancel(ctxT(t))
	first, err := sub.Subscribe(ctx, "single")
	require.NoError(t, err)
	_, err = sub.Subscribe(ctxT(t), "single")
	require.ErrorIs(t, err, bus.ErrAlreadySubscribed)
	cancel()
	for range first { // wait until the first subscription has ended
	}
	_, err = sub.Subscribe(ctxT(t), "single")
	require.NoError(t, err, "subscribing again once the first has ended")
	require.NoError(t, sub.Close())
	_, err = sub.Subscribe(ctxT(t), "single")
	require.ErrorIs(t, err, bus.ErrSubscriberClosed)
}

// TestSubscriber_FilteredCheckpointPassesOtherEvents: a consumer of one category
// moves its checkpoint past the events of others, with no message in flight.
func TestSubscriber_FilteredCheckpointPassesOtherEvents(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	mine, other := newCategory("mine"), newCategory("other")
	progress := make(chan es.Position, 100)
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{
		Log: store, Checkpoints: store, Consumer: "filtered",
		OnProgress: func(_ string, p es.Position) { progress <- p },
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Close()) })
	subscribe(t, sub, mine)
	require.Equal(t, es.Start, <-progress, "progress starts at the loaded checkpoint")

	last := appendN(t, store, es.StreamName(other, uuid.New()), 0, 3)[2]
	for p := range progress {
		if !p.Less(last) {
			break
		}
	}
	require.NoError(t, sub.Close())
	cp, err := store.LoadCheckpoint(ctxT(t), bus.CheckpointName("filtered", mine))
	require.NoError(t, err)
	require.Equal(t, last, cp, "the checkpoint passed the other category's events")
}

// blockingCheckpoints holds every SaveCheckpoint until the test releases it.
type blockingCheckpoints struct {
	bus.CheckpointStore
	mu      sync.Mutex
	saved   []es.Position
	entered chan struct{}
	release chan struct{}
}

func (b *blockingCheckpoints) SaveCheckpoint(ctx context.Context, name string, pos es.Position) error {
	b.entered <- struct{}{}
	<-b.release
	b.mu.Lock()
	b.saved = append(b.saved, pos)
	b.mu.Unlock()
	return b.CheckpointStore.SaveCheckpoint(ctx, name, pos)
}

// TestSubscriber_CheckpointWritesCoalesce: delivery never waits for a checkpoint
// write, and the writes that follow a slow one carry only the newest position.
func TestSubscriber_CheckpointWritesCoalesce(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("coalesce")
	pos := appendN(t, store, es.StreamName(cat, uuid.New()), 0, 50)
	cps := &blockingCheckpoints{CheckpointStore: store, entered: make(chan struct{}, 10), release: make(chan struct{})}
	progress := make(chan es.Position, 100)
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{
		Log: store, Checkpoints: cps, Consumer: "coalescer", CheckpointInterval: -1,
		OnProgress: func(_ string, p es.Position) { progress <- p },
	})
	require.NoError(t, err)
	msgs := subscribe(t, sub, cat)
	<-progress
	recv(t, msgs).Ack()
	require.Equal(t, pos[0], <-progress)
	<-cps.entered // the first write is under way, and stays blocked
	for i := 1; i < len(pos); i++ {
		recv(t, msgs).Ack() // delivery goes on meanwhile
		require.Equal(t, pos[i], <-progress)
	}
	close(cps.release)
	require.NoError(t, sub.Close())
	require.Equal(t, []es.Position{pos[0], pos[len(pos)-1]}, cps.saved, "writes after the slow one")
}

func TestMessage_EnvelopeMetadataAndRecord(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("meta")
	stream := es.StreamName(cat, uuid.New())
	id := uuid.Must(uuid.NewV7())
	_, err := store.Append(ctxT(t), stream, es.NoStream(), es.EventData{
		ID: id, Type: happenedType, Data: []byte(`{"n": 7}`),
		Metadata: es.Metadata{Actor: "account:a", CorrelationID: "corr", CausationID: "cause",
			Extra: map[string]string{"tenant": "t1", "stream": "not the stream"}},
	})
	require.NoError(t, err)
	_, sub := newPubSub(t, store, "meta")
	m := recv(t, subscribe(t, sub, cat))
	rec, ok := bus.RecordFrom(m.Context())
	require.True(t, ok, "the record travels in the message context")
	require.Equal(t, id, rec.ID)
	require.Equal(t, id.String(), m.UUID)
	require.Equal(t, `{"n": 7}`, string(m.Payload), "the payload is the stored data, byte for byte")
	want := map[string]string{
		bus.MetadataEventID:                 id.String(),
		bus.MetadataStream:                  stream,
		bus.MetadataEventType:               happenedType,
		bus.MetadataRevision:                "0",
		bus.MetadataPosition:                rec.Position.String(),
		bus.MetadataRecordedAt:              rec.RecordedAt.Format(time.RFC3339Nano),
		bus.MetadataHash:                    rec.Hash.String(),
		bus.MetadataActor:                   "account:a",
		middleware.CorrelationIDMetadataKey: "corr",
		bus.MetadataCausationID:             "cause",
		"tenant":                            "t1",
	}
	require.Equal(t, want, map[string]string(m.Metadata), "envelope keys win over Extra")
	m.Ack()
}

func TestPublisher_PayloadsRoundTripExactly(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	topic := newCategory("payload")
	pub, sub := newPubSub(t, store, "payloads")
	payloads := [][]byte{
		[]byte(`{"a": 1,  "b":[true]}`), // JSON, kept as written
		[]byte(" 42 \n"),
		[]byte(`"text"`),
		[]byte("x"),                  // not JSON
		{},                           // empty
		{0x00, 0xff, 0xfe, '{', '}'}, // binary
		[]byte("\"\xff\""),           // JSON-shaped but not UTF-8
		[]byte(`{"base64":"eA=="}`),  // looks like the wrapped form: stays as it is
	}
	var sent []*message.Message
	for _, p := range payloads {
		m := message.NewMessage(uuid.NewString(), p)
		m.Metadata.Set("k", "v")
		sent = append(sent, m)
	}
	require.NoError(t, pub.Publish(topic, sent...))
	msgs := subscribe(t, sub, topic)
	for i, p := range payloads {
		m := recv(t, msgs)
		require.Equal(t, sent[i].UUID, m.UUID)
		require.Equal(t, p, []byte(m.Payload), "payload %d", i)
		require.Equal(t, "v", m.Metadata.Get("k"))
		require.Empty(t, m.Metadata.Get(bus.MetadataPayloadEncoding), "the wrapping mark is not shown")
		require.Equal(t, bus.CategoryStream(topic), m.Metadata.Get(bus.MetadataStream))
		require.Equal(t, bus.DefaultEventType, m.Metadata.Get(bus.MetadataEventType))
		m.Ack()
	}
}

func TestPublisher_MessagesBecomeEvents(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("pub")
	pub, sub := newPubSub(t, store, "forwarder")

	m := message.NewMessage("", []byte(`{}`))
	m.Metadata.Set(bus.MetadataEventType, "pub.created")
	m.Metadata.Set(bus.MetadataActor, "system:test")
	middleware.SetCorrelationID("corr-1", m)
	m.Metadata.Set(bus.MetadataCausationID, "cause-1")
	m.Metadata.Set(bus.MetadataRevision, "99") // assigned by the log: ignored
	require.NoError(t, pub.Publish(cat, m))
	id, err := uuid.Parse(m.UUID)
	require.NoError(t, err, "an empty UUID is replaced by the event id")
	require.Equal(t, uuid.Version(7), id.Version())

	got := recv(t, subscribe(t, sub, cat))
	rec, _ := bus.RecordFrom(got.Context())
	require.Equal(t, id, rec.ID)
	require.Equal(t, "pub.created", rec.Type)
	require.Equal(t, es.Metadata{Actor: "system:test", CorrelationID: "corr-1", CausationID: "cause-1"}, rec.Metadata)
	require.Equal(t, uint64(0), rec.Revision)
	got.Ack()

	// A received message forwarded as it is lands in the target stream, with its
	// envelope keys recomputed there.
	target := es.StreamName(newCategory("fwd"), uuid.New())
	fwd := got.Copy()
	fwd.UUID = uuid.NewString()
	require.NoError(t, pub.Publish(target, fwd))
	recs, err := store.ReadStream(ctxT(t), target, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "pub.created", recs[0].Type)
	require.Equal(t, "corr-1", recs[0].Metadata.CorrelationID)
	require.Empty(t, recs[0].Metadata.Extra, "envelope keys are not copied into Extra")

	bad := []struct {
		name  string
		topic string
		msg   func() *message.Message
	}{
		{"non-UUID id", cat, func() *message.Message { return message.NewMessage("01HZX3", []byte(`{}`)) }},
		{"upper-case UUID", cat, func() *message.Message {
			return message.NewMessage("0190A0B0-0000-7000-8000-000000000000", []byte(`{}`))
		}},
		{"upper-case type", cat, func() *message.Message {
			m := message.NewMessage(uuid.NewString(), []byte(`{}`))
			m.Metadata.Set(bus.MetadataEventType, "Pub.Created")
			return m
		}},
		{"reserved key", cat, func() *message.Message {
			m := message.NewMessage(uuid.NewString(), []byte(`{}`))
			m.Metadata.Set(bus.MetadataPayloadEncoding, "base64")
			return m
		}},
		{"whole log", bus.AllTopic, func() *message.Message { return message.NewMessage(uuid.NewString(), []byte(`{}`)) }},
		{"two categories", cat + ",other", func() *message.Message { return message.NewMessage(uuid.NewString(), []byte(`{}`)) }},
		{"type topic", bus.TypesTopicPrefix + "pub.created", func() *message.Message {
			return message.NewMessage(uuid.NewString(), []byte(`{}`))
		}},
		{"bad topic", "$ce-x", func() *message.Message { return message.NewMessage(uuid.NewString(), []byte(`{}`)) }},
	}
	for _, b := range bad {
		require.Error(t, pub.Publish(b.topic, b.msg()), "Publish with %s", b.name)
	}
	require.NoError(t, pub.Close())
	require.ErrorIs(t, pub.Publish(cat, message.NewMessage(uuid.NewString(), []byte(`{}`))), bus.ErrPublisherClosed)
}

func TestTopics(t *testing.T) {
	t.Parallel()
	good := []struct {
		filter es.Filter
		topic  string
	}{
		{es.Filter{}, bus.AllTopic},
		{es.Filter{Categories: []string{"lock"}}, "lock"},
		{es.Filter{Categories: []string{"lock", "key"}}, "lock,key"},
		{es.Filter{EventTypes: []string{"lock.registered", "lock.removed"}}, "$types:lock.registered,lock.removed"},
	}
	for _, g := range good {
		got, err := bus.TopicOf(g.filter)
		require.NoError(t, err, "TopicOf(%+v)", g.filter)
		require.Equal(t, g.topic, got)
	}
	for _, f := range []es.Filter{
		{Categories: []string{"a-b"}},
		{Categories: []string{""}},
		{Categories: []string{"$sys"}},
		{Categories: []string{"a"}, EventTypes: []string{"a.b"}},
		{EventTypes: []string{"Bad"}},
	} {
		_, err := bus.TopicOf(f)
		require.Error(t, err, "TopicOf(%+v)", f)
	}
	store := openStore(t)
	_, sub := newPubSub(t, store, "topics")
	for _, topic := range []string{"", "$ce-lock", "a,,b", "$types:", "$types:Bad", "bad\x00"} {
		_, err := sub.Subscribe(ctxT(t), topic)
		require.ErrorIs(t, err, bus.ErrInvalidTopic, "Subscribe(%q)", topic)
	}
}

func TestSubscriber_StreamAndTypeTopics(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("st")
	s1, s2 := es.StreamName(cat, uuid.New()), es.StreamName(cat, uuid.New())
	appendN(t, store, s1, 0, 2)
	p2 := appendN(t, store, s2, 10, 2)
	appendN(t, store, s1, 2, 1)

	_, sub := newPubSub(t, store, "narrow")
	msgs := subscribe(t, sub, s2)
	for i := range 2 {
		m := recv(t, msgs)
		require.Equal(t, s2, m.Metadata.Get(bus.MetadataStream), "a stream topic holds its stream only")
		require.Equal(t, p2[i].String(), m.Metadata.Get(bus.MetadataPosition))
		m.Ack()
	}

	typ := "st.other" + uuid.NewString()[:4]
	_, err := store.Append(ctxT(t), s1, es.AnyRevision(), es.EventData{ID: uuid.New(), Type: typ, Data: []byte(`{}`)})
	require.NoError(t, err)
	m := recv(t, subscribe(t, sub, bus.TypesTopicPrefix+typ))
	require.Equal(t, typ, m.Metadata.Get(bus.MetadataEventType))
	m.Ack()
}
