package bus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// AllTopic is the topic of the whole log.
const AllTopic = "$all"

// TypesTopicPrefix starts a topic that selects events by type: "$types:a.b,c.d".
const TypesTopicPrefix = "$types:"

// ErrInvalidTopic is matched by every error about a topic's form.
var ErrInvalidTopic = errors.New("invalid topic")

// topic is a parsed topic.
type topic struct {
	name   string
	filter es.Filter // what the subscription asks the log for
	stream string    // a stream topic: only this stream's events pass
}

func invalidTopic(t, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidTopic, t, fmt.Sprintf(format, args...))
}

// parseTopic reads the grammar in the package documentation.
func parseTopic(t string) (topic, error) {
	switch {
	case t == AllTopic:
		return topic{name: t}, nil
	case strings.HasPrefix(t, TypesTopicPrefix):
		types := strings.Split(t[len(TypesTopicPrefix):], ",")
		for _, typ := range types {
			if err := es.ValidateEventType(typ); err != nil {
				return topic{}, invalidTopic(t, "%v", err)
			}
		}
		return topic{name: t, filter: es.Filter{EventTypes: types}}, nil
	case strings.HasPrefix(t, "$"):
		return topic{}, invalidTopic(t, "want %s, %s… or a category or stream name", AllTopic, TypesTopicPrefix)
	case strings.Contains(t, "-"):
		if err := es.ValidateStream(t); err != nil {
			return topic{}, invalidTopic(t, "%v", err)
		}
		return topic{name: t, filter: es.Filter{Categories: []string{es.Category(t)}}, stream: t}, nil
	default:
		cats := strings.Split(t, ",")
		for _, c := range cats {
			if err := validateCategory(c); err != nil {
				return topic{}, invalidTopic(t, "%v", err)
			}
		}
		return topic{name: t, filter: es.Filter{Categories: cats}}, nil
	}
}

// validateCategory reports whether c can be a category in a topic.
func validateCategory(c string) error {
	if c == "" {
		return errors.New("empty category")
	}
	if strings.ContainsAny(c, "-,") {
		return fmt.Errorf("category %q holds '-' or ','", c)
	}
	// A category is the start of stream names: it obeys their rules, with room
	// for "-<uuid>".
	if len(c) > es.MaxStreamName-37 {
		return fmt.Errorf("category %q is longer than %d bytes", c, es.MaxStreamName-37)
	}
	return es.ValidateStream(c)
}

// TopicOf returns the topic whose subscription applies f: AllTopic for the zero
// filter, the comma-joined categories, or TypesTopicPrefix and the joined types.
func TopicOf(f es.Filter) (string, error) {
	if err := f.Validate(); err != nil {
		return "", err
	}
	var t string
	switch {
	case len(f.Categories) > 0:
		t = strings.Join(f.Categories, ",")
	case len(f.EventTypes) > 0:
		t = TypesTopicPrefix + strings.Join(f.EventTypes, ",")
	default:
		return AllTopic, nil
	}
	tp, err := parseTopic(t)
	if err != nil {
		return "", err
	}
	if tp.stream != "" {
		return "", invalidTopic(t, "a category holds '-'")
	}
	return t, nil
}

// busStreamNamespace derives the bus stream of each category.
var busStreamNamespace = uuid.MustParse("5f0c8a51-3d2e-4c1b-9a7e-6b0d2f4e8c13")

// CategoryStream returns the stream that publishing to a category topic appends
// to: "<category>-<uuid>", the uuid derived from the category, so the name is the
// same in every process and every run.
func CategoryStream(category string) string {
	return es.StreamName(category, uuid.NewSHA1(busStreamNamespace, []byte(category)))
}

// publishStream returns the stream a Publish to t appends to.
func (t topic) publishStream() (string, error) {
	switch {
	case t.stream != "":
		return t.stream, nil
	case len(t.filter.Categories) == 1:
		return CategoryStream(t.filter.Categories[0]), nil
	default:
		return "", invalidTopic(t.name, "publish to one category or one stream")
	}
}

// pass reports whether a record the subscription received belongs to t: the log
// filters by category, a stream topic narrows it to its stream.
func (t topic) pass(r *es.Record) bool {
	return t.stream == "" || r.Stream == t.stream
}
