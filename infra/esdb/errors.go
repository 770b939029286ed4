package esdb

import (
	"context"
	"errors"
	"regexp"
	"strconv"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"sleutel/domain/es"
)

// isCode reports whether err is the client's *esdbclient.Error with code. (Note that
// esdbclient.FromError reports ok == true when there was no error at all.)
func isCode(err error, code esdbclient.ErrorCode) bool {
	var e *esdbclient.Error
	return errors.As(err, &e) && e.Code() == code
}

// callErr names why a call failed when its context ended, since the client then
// reports the cancellation as an unclassified gRPC failure: es.ErrClosed when the
// store was closed under it, else the context's error. Otherwise it returns err.
func (s *Store) callErr(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if s.isClosed() {
		return es.ErrClosed
	}
	return ctx.Err()
}

// currentRevision reads the current revision out of the client's wrong-expected-
// version error: v4.1.0 keeps only its text, "expecting '…' but got '…'", where the
// second part is a revision or "no_stream".
var currentRevision = regexp.MustCompile(`but got '([^']*)'`)

// concurrencyError turns the server's wrong expected version into an
// *es.ConcurrencyError, with the stream's actual revision as the server told it, or
// as read afterwards when the message could not be read.
func (s *Store) concurrencyError(ctx context.Context, stream string, expected es.ExpectedRevision, err error) error {
	ce := &es.ConcurrencyError{Stream: stream, Expected: expected}
	var e *esdbclient.Error
	if errors.As(err, &e) && e.Err() != nil {
		if m := currentRevision.FindStringSubmatch(e.Err().Error()); m != nil {
			if m[1] == "no_stream" {
				return ce
			}
			if n, perr := strconv.ParseUint(m[1], 10, 64); perr == nil {
				ce.Actual, ce.Exists = n, true
				return ce
			}
		}
	}
	if head, ok, rerr := s.readHead(ctx, stream); rerr == nil {
		ce.Actual, ce.Exists = head.rev, ok
	}
	return ce
}

// invalidArgument returns the server's message when it refused a request as
// invalid (an append over the maximum append size, a missing required property).
// The client files those under ErrorCodeUnknown, so the gRPC status is looked at.
func invalidArgument(err error) (string, bool) {
	var e *esdbclient.Error
	if !errors.As(err, &e) || e.Err() == nil {
		return "", false
	}
	st, ok := status.FromError(e.Err())
	if !ok || st.Code() != codes.InvalidArgument {
		return "", false
	}
	return st.Message(), true
}
