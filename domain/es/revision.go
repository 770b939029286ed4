package es

import (
	"errors"
	"fmt"
	"strconv"
)

type expectKind uint8

const (
	expectNoStream expectKind = iota // the zero value: safest default
	expectExact
	expectAny
)

// ExpectedRevision is the optimistic-concurrency condition of an append. The zero
// value means "the stream does not exist yet".
type ExpectedRevision struct {
	kind expectKind
	rev  uint64
}

// NoStream expects the stream to have no events.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: expectNoStream} }

// Exact expects the stream's last event to have revision rev.
func Exact(rev uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, rev: rev} }

// AfterVersion expects a stream holding exactly version events: NoStream for 0,
// Exact(version-1) otherwise. Aggregates count versions; stores count revisions.
func AfterVersion(version uint64) ExpectedRevision {
	if version == 0 {
		return NoStream()
	}
	return Exact(version - 1)
}

// AnyRevision appends whatever the stream holds. Only callers that name it get it:
// it gives up the concurrency check.
func AnyRevision() ExpectedRevision { return ExpectedRevision{kind: expectAny} }

// IsNoStream reports whether e expects no stream.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsAny reports whether e accepts any revision.
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// Revision returns the exact revision expected and true, or 0 and false for
// NoStream and Any.
func (e ExpectedRevision) Revision() (uint64, bool) { return e.rev, e.kind == expectExact }

// Matches reports whether a stream whose last revision is last (exists false for a
// missing stream) satisfies e.
func (e ExpectedRevision) Matches(last uint64, exists bool) bool {
	switch e.kind {
	case expectAny:
		return true
	case expectExact:
		return exists && last == e.rev
	default:
		return !exists
	}
}

// String renders e for messages.
func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectAny:
		return "any"
	case expectExact:
		return strconv.FormatUint(e.rev, 10)
	default:
		return "no stream"
	}
}

// ErrConcurrency is matched (errors.Is) by every wrong-expected-revision failure.
var ErrConcurrency = errors.New("wrong expected revision")

// ConcurrencyError reports an append whose expected revision did not hold.
type ConcurrencyError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   uint64 // last revision of the stream; meaningless when !Exists
	Exists   bool
}

// Error describes the mismatch.
func (e *ConcurrencyError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = strconv.FormatUint(e.Actual, 10)
	}
	return fmt.Sprintf("append %s: expected revision %s, stream is at %s", e.Stream, e.Expected, actual)
}

// Is makes errors.Is(err, ErrConcurrency) true.
func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// ErrClosed is returned by a store or subscription used after Close.
var ErrClosed = errors.New("event store closed")
