package api

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "github.com/beaconcms/beacon/gen/beacon/access/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/access/internal/domain"
)

const (
	keyNamePrefix  = "apiKeys/"
	siteNamePrefix = "sites/"
)

var roleToProtoMap = map[auth.Role]accessv1.ApiKey_Role{
	auth.RoleAdmin:    accessv1.ApiKey_ROLE_ADMIN,
	auth.RoleEditor:   accessv1.ApiKey_ROLE_EDITOR,
	auth.RoleViewer:   accessv1.ApiKey_ROLE_VIEWER,
	auth.RoleDelivery: accessv1.ApiKey_ROLE_DELIVERY,
}

func roleToProto(r auth.Role) accessv1.ApiKey_Role {
	return roleToProtoMap[r] // ROLE_UNSPECIFIED for anything else
}

// roleFromProto returns the role, or 0 (not a role) for ROLE_UNSPECIFIED and unknown values.
func roleFromProto(r accessv1.ApiKey_Role) auth.Role {
	for role, pr := range roleToProtoMap {
		if pr == r {
			return role
		}
	}
	return 0
}

// siteName returns "sites/{id}", or "" for all sites.
func siteName(id string) string {
	if id == "" {
		return ""
	}
	return siteNamePrefix + id
}

// toProto converts a key for callers. It never carries the secret or its hash.
func toProto(k domain.Key) *accessv1.ApiKey {
	return &accessv1.ApiKey{
		Name:        k.Name(),
		DisplayName: k.DisplayName,
		Role:        roleToProto(k.Role),
		Site:        siteName(k.Site),
		CreateTime:  timestampOrNil(k.CreateTime),
		RevokeTime:  timestampOrNil(k.RevokeTime),
		KeyPrefix:   k.Prefix,
	}
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// fromProto reads the writable fields of a key to create (display_name, role, site) and
// validates them, returning an apperr Invalid error naming "api_key.*" fields.
func fromProto(in *accessv1.ApiKey) (domain.Key, error) {
	var v apperr.Violations
	site, siteOK := strings.CutPrefix(in.GetSite(), siteNamePrefix)
	switch {
	case in.GetSite() == "":
		site, siteOK = "", true
	case !siteOK || !siteid.Valid(site):
		siteOK = false
		v.Add("api_key.site", "must be empty (all sites) or a site name like sites/kratom-help, got %q", in.GetSite())
	}
	k := domain.Key{DisplayName: in.GetDisplayName(), Role: roleFromProto(in.GetRole()), Site: site}
	if e, ok := apperr.As(k.Validate()); ok {
		for _, f := range e.Fields {
			if f.Field == "site" && !siteOK {
				continue // reported above, in terms of the API
			}
			v.Add("api_key."+f.Field, "%s", f.Description)
		}
	}
	if err := v.Err(); err != nil {
		return domain.Key{}, err
	}
	return k, nil
}

// keyIDFromName parses "apiKeys/{id}", naming field in errors.
func keyIDFromName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, keyNamePrefix)
	if !ok || !domain.ValidID(id) {
		return "", apperr.InvalidField(field, "must be an API key name like apiKeys/0123456789abcdef, got %q", name)
	}
	return id, nil
}
