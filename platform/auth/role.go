package auth

import "fmt"

// Role is what an API key may do. The zero value is not a role.
type Role int

// The roles. Their numbers equal the values of the ApiKey.Role proto enum.
const (
	RoleAdmin    Role = 1 // everything, including keys and sites
	RoleEditor   Role = 2 // write, publish and read articles
	RoleViewer   Role = 3 // read articles and sites
	RoleDelivery Role = 4 // read published content through the delivery API only
)

var roleNames = map[Role]string{
	RoleAdmin:    "admin",
	RoleEditor:   "editor",
	RoleViewer:   "viewer",
	RoleDelivery: "delivery",
}

// String returns the role's lowercase name ("admin", "editor", "viewer", "delivery"), or
// "Role(n)" for a value that is not a role.
func (r Role) String() string {
	if s, ok := roleNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	_, ok := roleNames[r]
	return ok
}

// ParseRole returns the role named s, exactly as [Role.String] spells it.
func ParseRole(s string) (Role, error) {
	for r, name := range roleNames {
		if name == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q", s)
}
