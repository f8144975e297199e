from django.dispatch import Signal

# Sent inside the transaction that changed a type's back-end status: kwargs status_type, old, new.
# Provisioning listens, so the switch follows every account of that type.
backend_status_changed = Signal()
