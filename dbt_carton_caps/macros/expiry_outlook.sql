{#- Expiry outlook sums over int_ledger_credits_unspent (docs/design.md#expiry-outlook): the
    cents that expire within the next N days of the as-of time if nobody redeems meanwhile
    (cumulative windows: 60 days includes the first 30), what expires later, and what is
    past its expiry but not yet expired by the ledger (0 when the expiry job runs on time). -#}
{% macro expiry_window_cents(days) -%}
    sum(case
        when expires_at >= {{ as_of_ts() }}
            and expires_at < {{ dbt.dateadd('day', days, as_of_ts()) }}
            then unspent_cents
        else 0
    end)
{%- endmacro %}

{% macro expiry_outlook_columns() -%}
        {{ cents_to_dollars('coalesce(sum(unspent_cents), 0)') }} as unspent_dollars,
        {% for days in [30, 60, 90] %}
        {{ cents_to_dollars('coalesce(' ~ expiry_window_cents(days) ~ ', 0)') }}
            as expiring_{{ days }}d_dollars,
        {% endfor %}
        {{ cents_to_dollars('coalesce(sum(case when expires_at >= '
            ~ dbt.dateadd('day', 90, as_of_ts()) ~ ' then unspent_cents else 0 end), 0)') }}
            as expiring_after_90d_dollars,
        {{ cents_to_dollars('coalesce(sum(case when expires_at < ' ~ as_of_ts()
            ~ ' then unspent_cents else 0 end), 0)') }} as past_due_dollars,
        cast(count(distinct case
            when expires_at >= {{ as_of_ts() }}
                and expires_at < {{ dbt.dateadd('day', 90, as_of_ts()) }}
                then user_id
        end) as {{ dbt.type_bigint() }}) as users_expiring_90d
{%- endmacro %}
