package models

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Order states. An order is created pending payment; it is paid only once
// a server-side check of its SumUp checkout says PAID for its amount; then
// it is made ready for pickup or dispatched, and completed. Unpaid, it
// expires when its stock hold runs out or is cancelled; paid, it can be
// refunded in full or in part.
const (
	OrderPendingPayment    = "pending_payment"
	OrderPaid              = "paid"
	OrderReadyForPickup    = "ready_for_pickup"
	OrderDispatched        = "dispatched"
	OrderCompleted         = "completed"
	OrderCancelled         = "cancelled"
	OrderExpired           = "expired"
	OrderRefunded          = "refunded"
	OrderPartiallyRefunded = "partially_refunded"
)

// OrderStatusText is an order state in words, for shoppers and admins.
func OrderStatusText(status string) string {
	switch status {
	case OrderPendingPayment:
		return "Awaiting payment"
	case OrderPaid:
		return "Paid"
	case OrderReadyForPickup:
		return "Paid, ready for pickup"
	case OrderDispatched:
		return "Paid, dispatched"
	case OrderCompleted:
		return "Completed"
	case OrderCancelled:
		return "Cancelled"
	case OrderExpired:
		return "Expired (not paid in time)"
	case OrderRefunded:
		return "Refunded"
	case OrderPartiallyRefunded:
		return "Paid, partially refunded"
	}
	return status
}

// Fulfilment choices.
const (
	FulfilDelivery = "delivery"
	FulfilPickup   = "pickup"
)

// Address is where an order is delivered.
type Address struct {
	Name, Line1, Line2, City, Postcode, Country string
}

// Order is a shopper's order.
type Order struct {
	ID          uuid.UUID
	Number      int64
	UserID      uuid.NullUUID
	Email       string
	Status      string
	Fulfilment  string
	PickupPlace string
	Address     Address
	Currency    string
	Subtotal    int64
	Delivery    int64
	Total       int64
	VAT         int64
	Refunded    int64
	HoldUntil   time.Time
	PaidAt      *time.Time
	CreatedAt   time.Time
	Lines       []OrderLine
	Attempts    []PaymentAttempt
	Events      []OrderEvent
	Refunds     []OrderRefund
}

// Name is what shoppers and admins call the order: "Order 1001".
func (o Order) Name() string { return "Order " + strconv.FormatInt(o.Number, 10) }

// Money returns minor as Money in the order's currency.
func (o Order) Money(minor int64) Money { return Money{Minor: minor, Currency: o.Currency} }

// IsPaid says whether the order was paid (whatever happened after).
func (o Order) IsPaid() bool { return o.PaidAt != nil }

// OrderLine is one variant bought, at the price it had then.
type OrderLine struct {
	ID         uuid.UUID
	MarketID   uuid.NullUUID
	MarketName string
	ProductID  uuid.NullUUID
	VariantID  uuid.NullUUID
	Title      string
	UnitPrice  int64
	VATRateBP  int
	Quantity   int
	Held       int
	// Ticket is set on a ticket line (places at an event's date, held by
	// a booking of the order), whose OccurrenceID and TicketTypeID say
	// which (empty once deleted); the product's ids are then empty.
	Ticket       bool
	OccurrenceID uuid.NullUUID
	TicketTypeID uuid.NullUUID
}

// Total is the line's price times its quantity.
func (l OrderLine) Total() int64 { return l.UnitPrice * int64(l.Quantity) }

// Payment attempt states.
const (
	AttemptPending   = "pending"
	AttemptPaid      = "paid"
	AttemptFailed    = "failed"
	AttemptExpired   = "expired"
	AttemptCancelled = "cancelled"
	AttemptRefunded  = "refunded"
)

// PaymentAttempt is one SumUp checkout of an order.
type PaymentAttempt struct {
	ID            uuid.UUID
	OrderID       uuid.UUID
	Attempt       int
	Reference     string
	CheckoutID    string
	HostedURL     string
	Status        string
	Amount        Money
	TransactionID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// OrderEvent is one change of an order's state.
type OrderEvent struct {
	From, To string
	ActorID  uuid.NullUUID
	Actor    string
	Reason   string
	At       time.Time
}

// OrderRefund is a refund made through SumUp.
type OrderRefund struct {
	ID        uuid.UUID
	Amount    int64
	Reason    string
	Actor     string
	CreatedAt time.Time
}

// VATIncluded is the VAT part of a VAT-inclusive amount at rateBP basis
// points, rounded half up: total * rate / (10000 + rate).
func VATIncluded(total int64, rateBP int) int64 {
	if rateBP <= 0 || total <= 0 {
		return 0
	}
	den := int64(10000 + rateBP)
	return (total*int64(rateBP)*2 + den) / (2 * den)
}
