package code

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"sleutel/domain"
)

// Kind is what a product buys (SPEC P1).
type Kind string

// Product kinds. Their names are part of the stored product strings: never rename one.
const (
	// KindManagement adds 5 calendar years of paid management to a lock (L3).
	KindManagement Kind = "management-5y"
	// KindSharedManagement activates shared management on a lock for 5 years (L11).
	KindSharedManagement Kind = "shared-management-5y"
	// KindOrganizationManagement gives an account organization management (O6).
	KindOrganizationManagement Kind = "organization-management"
	// KindKeys grows a lock's key allowance by a number of keys (L8).
	KindKeys Kind = "keys"
)

// MaxKeys is the largest number of keys one keys-N code adds: the 2,500-key cap less
// the 25 keys every lock starts with (L8).
const MaxKeys = 2475

// ProductYears is the number of calendar years a management or shared management
// code buys (L3, L11).
const ProductYears = 5

// Product is what a code is worth. The zero Product is no product.
type Product struct {
	kind Kind
	keys int
}

// ManagementProduct returns the management-5y product.
func ManagementProduct() Product { return Product{kind: KindManagement} }

// SharedManagementProduct returns the shared-management-5y product.
func SharedManagementProduct() Product { return Product{kind: KindSharedManagement} }

// OrganizationManagementProduct returns the organization-management product.
func OrganizationManagementProduct() Product { return Product{kind: KindOrganizationManagement} }

// KeysProduct returns the keys-n product. It returns ErrInvalidProduct (EInvalid)
// unless n is 1 to MaxKeys.
func KeysProduct(n int) (Product, error) {
	if n < 1 || n > MaxKeys {
		return Product{}, ErrInvalidProduct
	}
	return Product{kind: KindKeys, keys: n}, nil
}

// ParseProduct reads a product name: management-5y, shared-management-5y,
// organization-management or keys-N with N from 1 to MaxKeys, written exactly so
// (no sign, no leading zero). It returns ErrInvalidProduct (EInvalid) otherwise.
func ParseProduct(s string) (Product, error) {
	switch k := Kind(s); k {
	case KindManagement, KindSharedManagement, KindOrganizationManagement:
		return Product{kind: k}, nil
	}
	digits, ok := strings.CutPrefix(s, string(KindKeys)+"-")
	if !ok || digits == "" || digits[0] < '1' || digits[0] > '9' || len(digits) > 4 {
		return Product{}, ErrInvalidProduct
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return Product{}, ErrInvalidProduct
	}
	return KeysProduct(n)
}

// Kind returns what the product buys; "" for the zero Product.
func (p Product) Kind() Kind { return p.kind }

// Keys returns the number of keys a keys-N product adds, and 0 for other products.
func (p Product) Keys() int { return p.keys }

// Years returns the calendar years a management or shared management product buys,
// and 0 for other products.
func (p Product) Years() int {
	if p.kind == KindManagement || p.kind == KindSharedManagement {
		return ProductYears
	}
	return 0
}

// Target returns the kind of target the product is redeemed on: TargetLock for
// management, shared management and keys, TargetAccount for organization
// management, and "" for the zero Product.
func (p Product) Target() TargetKind {
	switch p.kind {
	case KindManagement, KindSharedManagement, KindKeys:
		return TargetLock
	case KindOrganizationManagement:
		return TargetAccount
	}
	return ""
}

// IsZero reports whether p is the zero Product.
func (p Product) IsZero() bool { return p.kind == "" }

// String returns the product name as ParseProduct reads it; "" for the zero Product.
func (p Product) String() string {
	if p.kind == KindKeys {
		return string(KindKeys) + "-" + strconv.Itoa(p.keys)
	}
	return string(p.kind)
}

// MarshalText writes the product name, so that events store "keys-50". It refuses
// the zero Product, which no event may carry.
func (p Product) MarshalText() ([]byte, error) {
	if p.IsZero() {
		return nil, fmt.Errorf("marshal product: no product")
	}
	return []byte(p.String()), nil
}

// UnmarshalText reads a product name with ParseProduct.
func (p *Product) UnmarshalText(b []byte) error {
	q, err := ParseProduct(string(b))
	if err != nil {
		return fmt.Errorf("product %q: %w", b, err)
	}
	*p = q
	return nil
}

// TargetKind is the kind of thing a code is redeemed on.
type TargetKind string

// Target kinds.
const (
	// TargetLock is a lock, for management, shared management and keys codes.
	TargetLock TargetKind = "lock"
	// TargetAccount is an account, for organization management codes.
	TargetAccount TargetKind = "account"
)

// Target is the lock or account a code is redeemed on, referred to by id only.
type Target struct {
	Kind TargetKind
	ID   uuid.UUID
}

// LockTarget returns the target for redeeming a code on lock id.
func LockTarget(id uuid.UUID) Target { return Target{Kind: TargetLock, ID: id} }

// AccountTarget returns the target for redeeming a code on account id.
func AccountTarget(id uuid.UUID) Target { return Target{Kind: TargetAccount, ID: id} }

// validate returns EInvalid for a target without a known kind or an id.
func (t Target) validate() error {
	if (t.Kind != TargetLock && t.Kind != TargetAccount) || t.ID == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a code is redeemed on a lock or an account")
	}
	return nil
}
