package bus_test

import (
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/infra/bus"
	"sleutel/infra/pebblestore"
)

// openStore opens a fresh embedded store, closed when the test ends.
func openStore(t *testing.T) *pebblestore.Store {
	t.Helper()
	return openStoreAt(t, t.TempDir())
}

func openStoreAt(t *testing.T, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err, "pebblestore.Open(%s)", dir)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func newPubSub(t *testing.T, store *pebblestore.Store, consumer string) (*bus.Publisher, *bus.Subscriber) {
	t.Helper()
	pub, err := bus.NewPublisher(bus.PublisherConfig{Log: store})
	require.NoError(t, err)
	sub, err := bus.NewSubscriber(bus.SubscriberConfig{Log: store, Checkpoints: store, Consumer: consumer})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Close()) })
	return pub, sub
}

// suiteTopic makes each test's topic a stream category: the suite appends "-1",
// "-2" … to it for its multi-topic tests, which makes those stream topics in that
// category.
func suiteTopic(tctx tests.TestContext) string {
	return "t" + strings.ReplaceAll(string(tctx.TestID), "-", "")
}

// features declares what the bus offers, honestly:
//   - GuaranteedOrder: a subscription delivers its topic in global log order, one
//     message at a time, the next only after an ack.
//   - Persistent: messages are events in the durable log; checkpoints are durable.
//   - ConsumerGroups: false. A consumer name is a durable cursor, not a group: two
//     live subscribers under one name each receive every message, where Watermill's
//     consumer groups share the work among members. (The suite's consumer-group test
//     only checks that two names each get everything, which holds and is covered by
//     TestSubscriberConsumersAreIndependent.)
//   - NewSubscriberReceivesOldMessages: false for these constructors, which reuse one
//     consumer name, as a restarting service does, so a new subscriber resumes after
//     the acked messages. A new consumer name reads the whole log: see
//     TestPubSubNewConsumerReadsOldMessages.
//   - ExactlyOnceDelivery: false. Delivery is at-least-once: a crash between an ack
//     and the checkpoint write delivers again.
//   - ContextPreserved: false. The published message's context does not travel.
var features = tests.Features{
	ConsumerGroups:                   false,
	ExactlyOnceDelivery:              false,
	GuaranteedOrder:                  true,
	Persistent:                       true,
	NewSubscriberReceivesOldMessages: false,
	GenerateTopicFunc:                suiteTopic,
}

func TestPubSub(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, store, "suite")
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return newPubSub(t, store, group)
		},
	)
}

// TestPubSubNewConsumerReadsOldMessages runs the suite's test of that feature with a
// new consumer name for every subscriber.
func TestPubSubNewConsumerReadsOldMessages(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	f := features
	f.NewSubscriberReceivesOldMessages = true
	tests.TestNewSubscriberReceivesOldMessages(t, tests.TestContext{TestID: tests.NewTestID(), Features: f},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, store, "fresh_"+uuid.NewString())
		})
}
