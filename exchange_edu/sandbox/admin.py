"""Admin for troubleshooting: everything read-only except the clock controls (engine state and
the journal are written by services only, so a hand edit cannot unbalance the books)."""

from django.contrib import admin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.Sandbox)
class SandboxAdmin(ReadOnlyAdmin):
    list_display = ("pk", "name", "preset", "price_source", "status", "tick_seq", "sim_time", "last_tick_lag_s",
                    "last_viewed_at")
    list_filter = ("status", "preset")
    search_fields = ("name",)


@admin.register(models.Market)
class MarketAdmin(ReadOnlyAdmin):
    list_display = ("market_id", "sandbox", "status", "index_price", "mark_price", "funding_rate_next")


@admin.register(models.PaperAccount)
class PaperAccountAdmin(ReadOnlyAdmin):
    list_display = ("account_id", "sandbox", "kind", "user", "active")
    list_filter = ("kind", "active")


@admin.register(models.Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("key", "sandbox", "size", "entry_price", "margin_mode", "leverage")


@admin.register(models.Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "sandbox", "market", "side", "order_type", "quantity", "remaining", "status")
    list_filter = ("status", "order_type")


@admin.register(models.JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("entry_no", "sandbox", "tick_seq", "kind", "market_id")
    list_filter = ("kind",)


@admin.register(models.EventLog)
class EventLogAdmin(ReadOnlyAdmin):
    list_display = ("event_no", "sandbox", "tick_seq", "kind", "market_id", "account_id")
    list_filter = ("kind",)


@admin.register(models.TickRecord)
class TickRecordAdmin(ReadOnlyAdmin):
    list_display = ("sandbox", "tick_seq", "applied_at", "lag_s", "duration_ms", "liquidations")


@admin.register(models.SandboxShock)
class SandboxShockAdmin(ReadOnlyAdmin):
    list_display = ("sandbox", "kind", "magnitude", "start_seq", "ticks", "created_by")
