package bus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"sleutel/domain/es"
)

// Log is the part of the event store the bus uses. Every Sleutel store
// (storetest.Store) implements it.
type Log interface {
	// Append writes events to stream when expected holds, all or none.
	Append(ctx context.Context, stream string, expected es.ExpectedRevision, events ...es.EventData) (es.AppendResult, error)
	// Subscribe delivers the log after position after that passes filter,
	// catch-up then live.
	Subscribe(ctx context.Context, after es.Position, filter es.Filter) (es.Subscription, error)
}

// DefaultEventType is the type of a published message that names none.
const DefaultEventType = "bus.message"

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("publisher closed")

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Log receives the appends. Required.
	Log Log
	// DefaultEventType is the type of messages without MetadataEventType;
	// DefaultEventType when empty.
	DefaultEventType string
}

// Publisher is a watermill message.Publisher that appends messages to the log as
// events, with es.AnyRevision: bus messages carry no optimistic-concurrency
// expectation. Domain events are appended by command handlers, never through it.
type Publisher struct {
	log         Log
	defaultType string
	closed      atomic.Bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher over cfg.Log.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Log == nil {
		return nil, errors.New("bus publisher: no log")
	}
	if cfg.DefaultEventType == "" {
		cfg.DefaultEventType = DefaultEventType
	}
	if err := es.ValidateEventType(cfg.DefaultEventType); err != nil {
		return nil, fmt.Errorf("bus publisher: default event type: %w", err)
	}
	return &Publisher{log: cfg.Log, defaultType: cfg.DefaultEventType}, nil
}

// Publish appends msgs to the stream of topic (see the package documentation) in one
// append: all are stored, in order, or none. The append runs under the first
// message's context. It returns once the events are durable.
func (p *Publisher) Publish(topicName string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrPublisherClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	t, err := parseTopic(topicName)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	stream, err := t.publishStream()
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	events := make([]es.EventData, len(msgs))
	for i, m := range msgs {
		if events[i], err = eventData(m, p.defaultType); err != nil {
			return fmt.Errorf("publish to %s: %w", topicName, err)
		}
		if !t.filter.Match(stream, events[i].Type) {
			return fmt.Errorf("publish to %s: %w", topicName,
				invalidTopic(topicName, "event type %q would not reach the topic's subscribers", events[i].Type))
		}
	}
	if _, err := p.log.Append(msgs[0].Context(), stream, es.AnyRevision(), events...); err != nil {
		return fmt.Errorf("publish to %s: %w", topicName, err)
	}
	return nil
}

// Close makes later Publish calls fail. It does not close the log.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}
