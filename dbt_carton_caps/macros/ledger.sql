{#
    The one definition of "earned" credit on the rewards ledger, shared by every mart that
    splits ledger flows: earn_* entries plus positive adjustments (goodwill credits).
    Negative adjustments are debits and never count here.
#}
{% macro ledger_earned_cents(entry_type='entry_type', amount_cents='amount_cents') %}
    case
        when {{ entry_type }} like 'earn%' then {{ amount_cents }}
        when {{ entry_type }} = 'adjust' and {{ amount_cents }} > 0 then {{ amount_cents }}
        else 0
    end
{% endmacro %}
