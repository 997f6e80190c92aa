package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

// Collections of users and sessions.
const (
	UsersCollection    = "users"    // one document per user, _id the normalized email
	SessionsCollection = "sessions" // one document per session, _id the hex SHA-256 of its token
)

// Schema versions of the documents written by this code.
const (
	userSchemaVersion    = 1
	sessionSchemaVersion = 1
)

type roleDoc struct {
	Role string `bson:"role"`
	Site string `bson:"site"` // "" for all sites
}

// userDoc is a user as stored. Roles are stored by name, like keys' roles.
type userDoc struct {
	ID            string     `bson:"_id"` // the normalized email
	SchemaVersion int        `bson:"schemaVersion"`
	DisplayName   string     `bson:"displayName"`
	Roles         []roleDoc  `bson:"roles"`
	PasswordHash  string     `bson:"passwordHash"`
	CreateTime    time.Time  `bson:"createTime"`
	UpdateTime    time.Time  `bson:"updateTime"`
	DisableTime   *time.Time `bson:"disableTime"` // null while active
	SessionEpoch  int64      `bson:"sessionEpoch"`
}

func toUserDoc(u domain.User) userDoc {
	d := userDoc{
		ID:            u.Email,
		SchemaVersion: userSchemaVersion,
		DisplayName:   u.DisplayName,
		Roles:         make([]roleDoc, 0, len(u.Roles)),
		PasswordHash:  u.PasswordHash,
		CreateTime:    u.CreateTime.UTC(),
		UpdateTime:    u.UpdateTime.UTC(),
		DisableTime:   timeOrNil(u.DisableTime),
		SessionEpoch:  u.SessionEpoch,
	}
	for _, b := range u.Roles {
		d.Roles = append(d.Roles, roleDoc{Role: b.Role.String(), Site: b.Site})
	}
	return d
}

func fromUserDoc(d userDoc) (domain.User, error) {
	if d.SchemaVersion != userSchemaVersion {
		return domain.User{}, fmt.Errorf("user %s: unsupported schemaVersion %d", d.ID, d.SchemaVersion)
	}
	u := domain.User{
		Email:        d.ID,
		DisplayName:  d.DisplayName,
		PasswordHash: d.PasswordHash,
		CreateTime:   d.CreateTime.UTC(),
		UpdateTime:   d.UpdateTime.UTC(),
		SessionEpoch: d.SessionEpoch,
	}
	if d.DisableTime != nil {
		u.DisableTime = d.DisableTime.UTC()
	}
	for _, r := range d.Roles {
		role, err := auth.ParseRole(r.Role)
		if err != nil {
			return domain.User{}, fmt.Errorf("user %s: %w", d.ID, err)
		}
		u.Roles = append(u.Roles, domain.RoleBinding{Role: role, Site: r.Site})
	}
	return u, nil
}

// sessionDoc is a session as stored; the token itself never is.
type sessionDoc struct {
	ID            string     `bson:"_id"`
	SchemaVersion int        `bson:"schemaVersion"`
	User          string     `bson:"user"`
	CreateTime    time.Time  `bson:"createTime"`
	LastSeenTime  time.Time  `bson:"lastSeenTime"`
	ExpireTime    time.Time  `bson:"expireTime"`
	Epoch         int64      `bson:"epoch"`
	RevokeTime    *time.Time `bson:"revokeTime"`
}

func toSessionDoc(s domain.Session) sessionDoc {
	return sessionDoc{
		ID:            s.ID,
		SchemaVersion: sessionSchemaVersion,
		User:          s.User,
		CreateTime:    s.CreateTime.UTC(),
		LastSeenTime:  s.LastSeenTime.UTC(),
		ExpireTime:    s.ExpireTime.UTC(),
		Epoch:         s.Epoch,
		RevokeTime:    timeOrNil(s.RevokeTime),
	}
}

func fromSessionDoc(d sessionDoc) (domain.Session, error) {
	if d.SchemaVersion != sessionSchemaVersion {
		return domain.Session{}, fmt.Errorf("session: unsupported schemaVersion %d", d.SchemaVersion)
	}
	s := domain.Session{
		ID:           d.ID,
		User:         d.User,
		CreateTime:   d.CreateTime.UTC(),
		LastSeenTime: d.LastSeenTime.UTC(),
		ExpireTime:   d.ExpireTime.UTC(),
		Epoch:        d.Epoch,
	}
	if d.RevokeTime != nil {
		s.RevokeTime = d.RevokeTime.UTC()
	}
	return s, nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Users keeps users and sessions. It implements domain.UserStore: every call on a request path
// is a point read, an insert or a replace by _id under the document's lock; only ListUsers and
// HasActiveAdminUser read the small users collection as a whole, and PruneSessions scans
// sessions at startup.
type Users struct {
	users    *mongo.Collection
	sessions *mongo.Collection
	locks    *mongodb.DocLocks
	dbName   string
}

var _ domain.UserStore = (*Users)(nil)

// NewUsers returns the user store on db (migrated by [Migrations]).
func NewUsers(db *mongo.Database, locks *mongodb.DocLocks) *Users {
	return &Users{users: db.Collection(UsersCollection), sessions: db.Collection(SessionsCollection), locks: locks, dbName: db.Name()}
}

// CreateUser inserts u; an existing email is apperr AlreadyExists.
func (s *Users) CreateUser(ctx context.Context, u domain.User) error {
	if _, err := s.users.InsertOne(ctx, toUserDoc(u)); err != nil {
		if mongodb.IsDuplicateKey(err) {
			return apperr.New(apperr.AlreadyExists, "user %s already exists", u.Name())
		}
		return userStoreErr("inserting user "+u.Name(), err)
	}
	return nil
}

// GetUser returns the user with this (normalized) email, or apperr NotFound.
func (s *Users) GetUser(ctx context.Context, email string) (domain.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, bson.D{{Key: "_id", Value: email}}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return domain.User{}, apperr.New(apperr.NotFound, "user users/%s not found", email)
		}
		return domain.User{}, userStoreErr("reading user users/"+email, err)
	}
	return fromUserDoc(d)
}

// UpdateUser reads, changes and replaces the user under its document lock.
func (s *Users) UpdateUser(ctx context.Context, email string, change func(*domain.User) error) (domain.User, error) {
	unlock, err := s.locks.Lock(ctx, s.dbName, UsersCollection, email)
	if err != nil {
		return domain.User{}, fmt.Errorf("updating user users/%s: %w", email, err)
	}
	defer unlock()
	u, err := s.GetUser(ctx, email)
	if err != nil {
		return domain.User{}, err
	}
	if err := change(&u); err != nil {
		return domain.User{}, err
	}
	if _, err := s.users.ReplaceOne(ctx, bson.D{{Key: "_id", Value: email}}, toUserDoc(u)); err != nil {
		return domain.User{}, userStoreErr("replacing user users/"+email, err)
	}
	return u, nil
}

// ListUsers returns up to q.PageSize users by email after q.After. The users collection is small
// (see mongodb.SmallCollections); a site filter is applied here, as FerretDB v1 has no
// $elemMatch on arrays of documents.
func (s *Users) ListUsers(ctx context.Context, q domain.UserListQuery) (domain.UserPage, error) {
	size := min(max(q.PageSize, 1), domain.MaxPageSize)
	filter := bson.D{}
	if q.After != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: string(q.After)}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if q.Site == "" {
		opts.SetLimit(int64(size) + 1) // one more, to know whether there is a next page
	}
	users, err := s.findUsers(ctx, filter, opts)
	if err != nil {
		return domain.UserPage{}, err
	}
	var page domain.UserPage
	for _, u := range users {
		if q.Site != "" && !onlyOnSite(u, q.Site) {
			continue
		}
		if len(page.Users) == size {
			page.Next = domain.UserCursor(page.Users[size-1].Email)
			break
		}
		page.Users = append(page.Users, u)
	}
	return page, nil
}

// onlyOnSite reports whether every role of u is on site.
func onlyOnSite(u domain.User, site string) bool {
	for _, b := range u.Roles {
		if b.Site != site {
			return false
		}
	}
	return len(u.Roles) > 0
}

func (s *Users) findUsers(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]domain.User, error) {
	cur, err := s.users.Find(ctx, filter, opts)
	if err != nil {
		return nil, userStoreErr("listing users", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, userStoreErr("listing users", err)
	}
	users := make([]domain.User, 0, len(docs))
	for _, d := range docs {
		u, err := fromUserDoc(d)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// HasActiveAdminUser reports whether a user that is not disabled is admin for all sites.
func (s *Users) HasActiveAdminUser(ctx context.Context) (bool, error) {
	users, err := s.findUsers(ctx, bson.D{}, options.Find())
	if err != nil {
		return false, err
	}
	for _, u := range users {
		for _, b := range u.Roles {
			if b.Role == auth.RoleAdmin && b.Site == "" && !u.Disabled() {
				return true, nil
			}
		}
	}
	return false, nil
}

// CreateSession inserts a session.
func (s *Users) CreateSession(ctx context.Context, sess domain.Session) error {
	if _, err := s.sessions.InsertOne(ctx, toSessionDoc(sess)); err != nil {
		return userStoreErr("inserting a session", err)
	}
	return nil
}

// GetSession returns the session with this id, or apperr NotFound.
func (s *Users) GetSession(ctx context.Context, id string) (domain.Session, error) {
	var d sessionDoc
	if err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return domain.Session{}, apperr.New(apperr.NotFound, "session not found")
		}
		return domain.Session{}, userStoreErr("reading a session", err)
	}
	return fromSessionDoc(d)
}

// UpdateSession reads, changes and replaces the session under its document lock.
func (s *Users) UpdateSession(ctx context.Context, id string, change func(*domain.Session) error) (domain.Session, error) {
	unlock, err := s.locks.Lock(ctx, s.dbName, SessionsCollection, id)
	if err != nil {
		return domain.Session{}, fmt.Errorf("updating a session: %w", err)
	}
	defer unlock()
	sess, err := s.GetSession(ctx, id)
	if err != nil {
		return domain.Session{}, err
	}
	if err := change(&sess); err != nil {
		return domain.Session{}, err
	}
	if _, err := s.sessions.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, toSessionDoc(sess)); err != nil {
		return domain.Session{}, userStoreErr("replacing a session", err)
	}
	return sess, nil
}

// PruneSessions deletes the sessions that expired (absolutely) before now, or were revoked or
// last seen more than the idle timeout before it, and returns how many. A scan: for startup only.
func (s *Users) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	ctx = mongodb.WithScan(ctx, "access: prune ended sessions at startup")
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expireTime", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}},
		bson.D{{Key: "lastSeenTime", Value: bson.D{{Key: "$lte", Value: now.Add(-domain.SessionIdleTimeout).UTC()}}}},
		bson.D{{Key: "revokeTime", Value: bson.D{{Key: "$ne", Value: nil}}}},
	}}}
	res, err := s.sessions.DeleteMany(ctx, filter)
	if err != nil {
		return 0, userStoreErr("pruning sessions", err)
	}
	return res.DeletedCount, nil
}

// userStoreErr wraps a driver error; when the store is unreachable it is apperr Unavailable.
func userStoreErr(op string, err error) error {
	if mongodb.IsUnavailable(err) {
		return fmt.Errorf("%s: %w: %v", op, apperr.New(apperr.Unavailable, "the user store is unavailable; retry later"), err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
