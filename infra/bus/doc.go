// Package bus delivers the event log through Watermill: a Subscriber over the global
// log with a durable checkpoint per consumer, a Publisher that appends to the log, and
// the Runtime that runs projections on a Watermill Router.
//
// # Topics
//
// A topic names a part of the global log:
//
//	$all                     the whole log (AllTopic)
//	lock                     one stream category: every stream "lock-…"
//	lock,key                 several categories, in log order
//	$types:lock.registered,… events of the listed types (TypesTopicPrefix)
//	lock-0190…               a topic holding a '-' is one stream, by its full name
//
// Categories hold no '-' or ',' and do not start with '$'. TopicOf turns a filter
// into its topic. Every topic is one ordered subscription to the log: a Subscriber
// delivers its events in global order, one at a time.
//
// Publishing to a stream topic appends to that stream; publishing to a single
// category appends to that category's bus stream, "<category>-<uuid>" with a uuid
// derived from the category (CategoryStream), so a Publish call is one atomic append.
// Other topics cannot be published to.
//
// # Messages
//
// A delivered message has UUID = event id and Payload = event data. Its metadata
// holds the envelope (MetadataEventID … MetadataHash; the correlation id under
// Watermill's middleware.CorrelationIDMetadataKey) and every pair of the event's
// Metadata.Extra; envelope keys win over Extra pairs of the same name. The stored
// es.Record travels in the message's context (RecordFrom), so in-process handlers do
// not parse metadata back.
//
// Publishing reads the same keys: event_type (PublisherConfig.DefaultEventType when
// absent), actor, correlation_id and causation_id go to the event; the keys the log
// assigns (event_id, stream, revision, position, recorded_at, hash) are ignored, so a
// received message can be forwarded as it is; every other pair goes to
// Metadata.Extra. The message UUID must be a canonical UUID and becomes the event id
// (an empty UUID gets a new UUIDv7, written back to the message).
//
// The store takes JSON payloads only. A payload that is valid UTF-8 JSON is stored
// as it is; any other payload (binary, text, empty) is stored wrapped as
// {"base64":"…"} with Extra["payload_encoding"] = "base64", and unwrapped on
// delivery, so every payload round-trips byte for byte.
//
// # Checkpoints and delivery guarantees
//
// A Subscriber reads from the position saved under its checkpoint name
// (CheckpointName: "<consumer>@<topic>", or SubscriberConfig.CheckpointName), and
// delivers one message at a time: the next waits until the current one is acked.
// Ack advances the checkpoint; Nack delivers the same message again. When a batch of
// the log holds nothing for the topic, the checkpoint still moves past it, so a
// filtered consumer can be waited for at any position.
//
// Checkpoints are kept in memory on every advance and written to the
// CheckpointStore behind the consumer: at most one write in flight per
// subscription, at most one per CheckpointInterval, always of the latest position,
// and a last one when the subscription ends. A consumer's ack rate therefore never
// sets the write rate, and a slow store never slows delivery. The embedded store
// writes checkpoints to its log without an fsync: a kill -9 loses at most the
// advances of the last CheckpointInterval (plus the milliseconds before Pebble's log
// writer hands a write to the kernel); a power loss may lose more. Either way the
// lost advances only deliver their events again, never skip one: delivery is
// at-least-once, and every handler must be idempotent.
//
// A consumer name is a durable cursor, not a consumer group: two live subscriptions
// under one checkpoint name would each receive every message. A Subscriber refuses a
// second live subscription to the same topic.
package bus
