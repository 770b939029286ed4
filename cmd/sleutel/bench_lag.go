package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/infra/bus"
	"sleutel/infra/pebblestore"
)

// lagEvent is what the subscription_lag benchmark appends.
type lagEvent struct {
	Seq int `json:"seq"`
}

func (lagEvent) EventType() string { return "bench.lag" }

// lagProjection records when each event reaches a Watermill handler.
type lagProjection struct {
	mu        sync.Mutex
	delivered map[int]time.Time
	all       chan struct{}
	want      int
}

func (*lagProjection) Name() string { return "bench_lag" }

func (*lagProjection) Filter() es.Filter { return es.Filter{EventTypes: []string{"bench.lag"}} }

func (p *lagProjection) Handle(_ context.Context, env es.Envelope) error {
	at := time.Now()
	e := env.Event.(lagEvent)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, seen := p.delivered[e.Seq]; !seen {
		p.delivered[e.Seq] = at
		if len(p.delivered) == p.want {
			close(p.all)
		}
	}
	return nil
}

// subscriptionLag appends at 1,000 events/s for d and measures, per event, the time
// from its append's acknowledgement to its delivery to a handler of the projection
// runtime (a Watermill router over the store's subscription).
func subscriptionLag(ctx context.Context, s *pebblestore.Store, d time.Duration) (result, error) {
	n := int(d / time.Millisecond)
	reg := es.NewRegistry()
	es.Register[lagEvent](reg, "bench.lag")
	proj := &lagProjection{delivered: make(map[int]time.Time, n), all: make(chan struct{}), want: n}
	rt, err := bus.NewRuntime(bus.RuntimeConfig{Log: s, Checkpoints: s, Registry: reg})
	if err != nil {
		return result{}, err
	}
	if err := rt.Register(proj); err != nil {
		return result{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	defer func() {
		cancel()
		<-done
		_ = rt.Close()
	}()
	last, err := s.LastPosition(ctx)
	if err != nil {
		return result{}, err
	}
	if err := rt.WaitFor(ctx, proj.Name(), last); err != nil { // caught up before timing
		return result{}, err
	}
	acked := make([]time.Time, n)
	stream := es.StreamName("lag", uuid.Must(uuid.NewV7()))
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		data, _ := json.Marshal(lagEvent{Seq: i})
		ev := es.EventData{ID: uuid.Must(uuid.NewV7()), Type: "bench.lag", Data: data, Metadata: es.Metadata{Actor: "system:bench"}}
		if _, err := s.Append(ctx, stream, es.AnyRevision(), ev); err != nil {
			return result{}, err
		}
		acked[i] = time.Now()
	}
	select {
	case <-proj.all:
	case <-time.After(30 * time.Second):
		return result{}, fmt.Errorf("only %d of %d events delivered", len(proj.delivered), n)
	}
	var lags latencies
	proj.mu.Lock()
	for i, at := range acked {
		lags = append(lags, max(0, proj.delivered[i].Sub(at)))
	}
	proj.mu.Unlock()
	return result{Name: "subscription_lag", P50us: round(lags.percentile(0.5)), P99us: round(lags.percentile(0.99)),
		Events: n, Note: "lag from Append returning to the handler; 0 when delivery came first"}, nil
}
