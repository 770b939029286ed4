// Package platform wires Sleutel together: the event store, the read models and
// their projections, the command handlers, the scheduler and the HTTP API. sleuteld
// runs it; the end-to-end tests and `sleutel bench api` start it in-process.
package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones on machines without a zoneinfo database

	"go.uber.org/zap"

	"sleutel/commands"
	"sleutel/domain/account"
	"sleutel/domain/building"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
	"sleutel/domain/report"
	"sleutel/domain/webhook"
	"sleutel/infra/bus"
	"sleutel/infra/clock"
	"sleutel/infra/confusable"
	"sleutel/infra/esdb"
	"sleutel/infra/httpapi"
	"sleutel/infra/pebblestore"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// Config is what sleuteld's flags set.
type Config struct {
	Addr     string // ":8080"
	DataDir  string // "./data"
	Store    string // "" for the embedded store in DataDir, or an esdb:// connection string
	DevClock bool   // enables POST /v1/dev/clock
	// OperatorPassword is the password of the operator account created on an empty
	// platform; a generated one is printed to Out when empty.
	OperatorPassword string
	// Mail selects SMTP (--smtp …) or the outbox folder of the data directory.
	Mail MailConfig
	// TrustedProxies are the proxies whose X-Forwarded-For names the client (A7):
	// CIDR ranges or addresses (--trusted-proxy).
	TrustedProxies []string
	Logger         *zap.Logger
	Out            io.Writer
	// Webhooks configures webhook deliveries (W1).
	Webhooks WebhookConfig
}

// EventStore is everything the platform needs of an event store.
type EventStore interface {
	commands.EventStore
	bus.Log
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
	LastPosition(ctx context.Context) (es.Position, error)
	Close() error
}

// Main is a running platform.
type Main struct {
	Config
	Events   EventStore
	Read     *readstore.Store
	Runtime  *bus.Runtime
	Locks    *commands.Locks
	Accounts *commands.Accounts
	Codes    *commands.Codes
	// Organizations runs organizations and shared key management (issue 4).
	Organizations *commands.Organizations
	Clock         httpapi.Clock
	// Access is the in-memory access index the device API decides from, and
	// Secrets the keyring that digests credentials: exposed for `sleutel bench api`.
	Access  *projections.AccessIndex
	Secrets commands.Secrets

	waiter   waitAll
	listener net.Listener
	server   *http.Server
	cancel   context.CancelFunc
	done     sync.WaitGroup
	closers  []func() error
}

// retiredProjections are projections replaced by a new version: their rows and
// checkpoints are dropped at start (the new version rebuilds from position zero).
var retiredProjections = []string{"organization_views_v1", "lock_log_v1"}

// readModels are the projections a command waits for before it answers
// (read-your-writes).
var readModels = []string{"lock_views_v1", "lock_log_v2", "account_views_v1", "account_index_v1", "organization_views_v2", "buildings_v1"}

// Registry returns the registry of every event type Sleutel stores.
func Registry() *es.Registry {
	r := es.NewRegistry()
	lock.RegisterEvents(r)
	report.RegisterEvents(r)
	code.RegisterEvents(r)
	account.RegisterEvents(r)
	webhook.RegisterEvents(r)
	building.RegisterEvents(r)
	organization.RegisterEvents(r)
	return r
}

// Run opens the stores, starts the projections, the scheduler and the HTTP server,
// and returns once the platform is serving. ctx bounds start-up only; Close stops it.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = zap.NewNop()
	}
	if m.Out == nil {
		m.Out = os.Stdout
	}
	defer func() {
		if err != nil {
			_ = m.Close()
		}
	}()
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel

	if err := m.openStore(ctx); err != nil {
		return err
	}
	if m.Read, err = readstore.Open(filepath.Join(m.DataDir, "readmodels")); err != nil {
		return err
	}
	m.closers = append(m.closers, m.Read.Close)
	if err := m.Read.Retire(ctx, retiredProjections...); err != nil {
		return err
	}

	keyring, err := openKeyring(m.DataDir)
	if err != nil {
		return err
	}
	hasher, err := newPasswords()
	if err != nil {
		return err
	}
	var dev *clock.Dev
	if m.DevClock {
		dev = clock.NewDev()
		m.Clock = dev
		m.Logger.Warn("DEV CLOCK ENABLED: POST /v1/dev/clock moves the platform's time; never run production like this")
	} else {
		m.Clock = clock.Real{}
	}
	registry := Registry()
	locations := newLocations()
	digest := commands.TokenDigest(tokenDigest)

	m.Accounts = commands.NewAccounts(commands.AccountsConfig{Store: m.Events, Registry: registry, Passwords: hasher,
		UsernameKey: commands.DefaultUsernameKey, Lookalikes: confusable.Keys, Digest: digest, Secrets: keyring, Clock: m.Clock, Rand: rand.Reader})
	m.Locks = commands.NewLocks(commands.LocksConfig{Store: m.Events, Registry: registry, Accounts: m.Accounts, Secrets: keyring,
		Digest: digest, Locations: locations.load, Clock: m.Clock, Rand: rand.Reader})
	m.Codes = commands.NewCodes(m.Events, registry, m.Locks.LockRepository(), keyring, m.Clock, rand.Reader)
	orgQueries := projections.NewOrganizationQueries(m.Read)
	m.Organizations = commands.NewOrganizations(m.Events, registry, m.Accounts, m.Locks, m.Codes, orgQueries, keyring, digest, m.Clock)
	accountIndex := projections.NewAccountIndex(m.Read)
	buildings := commands.NewBuildings(commands.BuildingsConfig{Store: m.Events, Registry: registry, Accounts: m.Accounts, Locks: m.Locks, Clock: m.Clock})

	access := projections.NewAccessIndex(m.Read, locations.load)
	m.Access, m.Secrets = access, keyring
	lockQueries := projections.NewLockQueries(m.Read)
	accountQueries := projections.NewAccountQueries(m.Read, m.Clock)
	outbox, err := m.newMailer(m.Clock.Now)
	if err != nil {
		return err
	}
	if m.Runtime, err = bus.NewRuntime(bus.RuntimeConfig{Log: m.Events, Checkpoints: m.Read, Registry: registry, Logger: m.Logger.Named("projections")}); err != nil {
		return err
	}
	waiter := waitAll{runtime: m.Runtime, filters: map[string]es.Filter{}}
	for _, p := range []projections.Projection{
		projections.NewLockViews(m.Read, access),
		projections.NewLockLog(m.Read),
		projections.NewActorIndex(m.Read), // the audit API's index by actor (H3)
		projections.NewAccountViews(m.Read, accountQueries),
		accountIndex,
		projections.NewLookalikes(m.Accounts),
		projections.NewPasswordResetMail(outbox, resetLinks(keyring)),
		projections.NewRedemptions(redemptions{m.Codes, m.Organizations}),
		projections.NewOrganizationViews(m.Read),
		projections.NewOrganizationAccess(m.Read, m.Organizations),
		projections.NewInvitationMail(outbox, invitationLinks{keyring}, orgQueries),
		projections.NewReminderMail(outbox, lockQueries, accountQueries),
		projections.NewBuildingViews(m.Read),
		projections.NewBuildingLocks(buildings),
	} {
		if err := m.Runtime.Register(p); err != nil {
			return err
		}
		waiter.filters[p.Name()] = projections.FilterOf(p)
	}
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		if err := m.Runtime.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			m.Logger.Error("projection runtime stopped", zap.Error(err))
		}
	}()
	m.waiter = waiter
	if err := m.bootstrapOperator(ctx, waiter); err != nil {
		return err
	}

	var wake func() <-chan struct{}
	if dev != nil {
		wake = dev.Jumped
	}
	sched := &scheduler{locks: m.Locks, queries: lockQueries, clock: m.Clock, wake: wake, log: m.Logger.Named("scheduler")}
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		sched.run(runCtx)
	}()

	proxies, err := httpapi.ParseTrustedProxies(m.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	hooks, err := m.startWebhooks(runCtx, registry, keyring)
	if err != nil {
		return err
	}
	cfg := httpapi.Config{Logger: m.Logger.Named("http"), Clock: m.Clock, Waiter: waiter,
		Sessions: sessions{q: accountQueries}, Accounts: m.Accounts, Codes: m.Codes, Locks: m.Locks,
		Queries: lockQueries, Log: projections.NewLockLogQueries(m.Read, lockQueries), Access: access,
		Buildings: buildings, BuildingQueries: projections.NewBuildingQueries(m.Read),
		Organizations: m.Organizations, Orgs: orgQueries,
		AccountAdmin: commands.NewAccountAdmin(m.Accounts, m.Organizations, orgQueries, accountIndex), Credentials: m.Accounts,
		Emails: accountIndex, TrustedProxies: proxies,
		Secrets: keyring, Digest: digest}
	cfg.Webhooks = hooks
	if dev != nil {
		cfg.DevClock = dev
	}
	cfg.AuditConfig = m.auditAPI(registry, locations.load)
	api := httpapi.New(cfg)
	if m.listener, err = net.Listen("tcp", m.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	m.server = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", zap.Error(err))
		}
	}()
	m.Logger.Info("serving", zap.String("addr", m.listener.Addr().String()), zap.String("data", m.DataDir))
	return nil
}

func (m *Main) openStore(ctx context.Context) error {
	if strings.HasPrefix(m.Store, "esdb://") || strings.HasPrefix(m.Store, "esdb+discover://") || strings.HasPrefix(m.Store, "kurrentdb://") {
		s, err := esdb.Open(ctx, m.Store, esdb.Options{})
		if err != nil {
			return err
		}
		m.Events = s
		m.closers = append(m.closers, s.Close)
		return nil
	}
	if m.Store != "" {
		return fmt.Errorf("--store %q: use an esdb:// connection string, or leave it empty for the embedded store", m.Store)
	}
	s, err := pebblestore.Open(filepath.Join(m.DataDir, "events"), pebblestore.Options{Logger: m.Logger.Named("pebble")})
	if err != nil {
		return err
	}
	m.Events = s
	m.closers = append(m.closers, s.Close)
	return nil
}

// URL returns the base URL the API listens on.
func (m *Main) URL() string { return "http://" + m.listener.Addr().String() }

// Close drains the HTTP requests in flight, stops the scheduler and the projections,
// and closes the stores.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
	}
	if m.Runtime != nil {
		errs = append(errs, m.Runtime.Close())
	}
	m.done.Wait()
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// waitAll waits until the read models have reached a position. Only those that
// read the stream written need to: a projection filtered on other categories may
// not hear of an event it skips until much later (EventStoreDB reports progress
// past filtered events only at checkpoints), and it has nothing to show for it.
type waitAll struct {
	runtime *bus.Runtime
	filters map[string]es.Filter // read model → its filter
}

// WaitFor waits for the read models that read stream ("" for all of them).
func (w waitAll) WaitFor(ctx context.Context, stream string, pos es.Position) error {
	for _, name := range readModels {
		if f := w.filters[name]; stream != "" && len(f.Categories) > 0 && !f.Match(stream, "") {
			continue
		}
		if err := w.runtime.WaitFor(ctx, name, pos); err != nil {
			return err
		}
	}
	return nil
}

// sessions authenticates bearer tokens against the session read model.
type sessions struct{ q *projections.AccountQueries }

func (s sessions) Authenticate(ctx context.Context, token string) (httpapi.Principal, error) {
	sess, acc, err := s.q.Session(ctx, tokenDigest(token))
	if err != nil {
		return httpapi.Principal{}, err
	}
	p := httpapi.Principal{AccountID: acc.ID, SessionID: sess.SessionID, AuditOrganizations: acc.AuditOrganizations}
	for _, r := range acc.Roles {
		p.Roles = append(p.Roles, string(r))
	}
	return p, nil
}

// tokenDigest is the digest under which full-entropy tokens are stored.
func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// locations caches time-zone lookups.
type locations struct{ m sync.Map }

func newLocations() *locations { return &locations{} }

// Locations returns a time zone loader that reads each zone once, as the
// platform's own services resolve the locks' zones.
func Locations() func(string) (*time.Location, error) { return newLocations().load }

func (l *locations) load(name string) (*time.Location, error) {
	if v, ok := l.m.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	l.m.Store(name, loc)
	return loc, nil
}

// bootstrapOperator creates the operator account on a platform that has none.
func (m *Main) bootstrapOperator(ctx context.Context, w waitAll) error {
	taken, err := m.Accounts.UsernameTaken(ctx, "operator")
	if err != nil || taken {
		return err
	}
	password, generated := m.OperatorPassword, false
	if password == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password, generated = hex.EncodeToString(b), true
	}
	res, err := m.Accounts.CreateAccount(ctx, commands.Meta{Actor: es.ActorOf(es.ActorSystem, "bootstrap")},
		commands.SignUp{Username: "operator", Email: "operator@localhost.localdomain", Password: password}, []account.Role{account.RoleOperator}, [16]byte{})
	if err != nil {
		return fmt.Errorf("create the operator account: %w", err)
	}
	if err := w.WaitFor(ctx, res.Stream, res.Position); err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(m.Out, "\nCreated the operator account. Username: operator  Password: %s\nThis password is shown once; set SLEUTEL_OPERATOR_PASSWORD to choose it.\n\n", password)
	}
	m.Logger.Info("operator account created")
	return nil
}
