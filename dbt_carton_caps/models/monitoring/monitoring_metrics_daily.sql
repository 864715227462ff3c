{# grain: one row per metric, dimension, dimension_value and metric_date (UTC event-time day)
   over the last monitoring_history_days covered days; dimension 'all' (value 'all') is the
   whole series, any other dimension one slice of it #}
{#- Per source table (raw, as exported: before staging deduplicates anything) and day:
      <table>.row_count              rows; also per value of the table's dimensions
      <table>.max_gap_hours          longest stretch of the day without a row (in whole
                                     10-minute slots)
      <table>.duplicate_share        share of rows repeating another row's numeric and time
                                     columns but the primary key (a replayed export under
                                     new ids); exact up to 200,000 rows a table, on a
                                     consistent hash sample of about that many beyond
      <table>.<column>.null_share    for every declared column
      <table>.<column>.sum / .mean   for every money (*_cents) column
    Business series and day (the core marts and int_user_activity_daily: their definitions):
      dau, receipts_accepted, receipts_rejected, receipt_rejection_rate (rejected / scanned),
      dollars_earned (ledger_earned_cents), dollars_redeemed, invites_sent.
    value is the metric; volume the rows behind it (events, receipts, entries, users), for
    the scorer's minimum-volume guard. Counts, sums and gaps are filled for days without
    rows (0, or 24 hours without a row) from the first day a series has; shares, rates and
    means have no value on such days. -#}
{%- set history_days = var('monitoring_history_days', 540) | int -%}
{#- The dimensions that locate a problem: row counts are cut by each of a table's;
    null shares, duplicates and gaps by the platform (an app release breaks one);
    money by ledger entry type (a mean over signed entries of every type means nothing). -#}
{%- set row_dimensions = {
    'users': ['platform'],
    'referrals': ['channel'],
    'app_events': ['platform', 'event_name'],
    'receipts': ['store_name'],
    'rewards_ledger': ['entry_type'],
} -%}
{%- set profile_dimensions = {'app_events': ['platform']} -%}
{%- set money_dimensions = {'rewards_ledger': ['entry_type']} -%}
{%- set tables = monitored_sources() -%}
{%- set window_start = "cast(" ~ dbt.dateadd('day', -history_days, as_of_date())
    ~ " as " ~ dbt.type_timestamp() ~ ")" -%}
{%- set first_day = "cast(" ~ dbt.dateadd('day', -history_days, as_of_date()) ~ " as date)" -%}
{#- gaps are measured in slots of 10 minutes from the window's start -#}
{%- set slot_minutes = 10 -%}
{#- duplicates are counted exactly up to this many rows per table, on a sample beyond -#}
{%- set duplicate_sample_rows = 200000 -%}
{%- set slots_per_day = (24 * 60 / slot_minutes) | int -%}
{#- a day's longest run of empty slots (the gaps CTEs): the empty slots before and after
    each slot with rows, each cut at the day's bounds (and the as-of cut-off) -#}
{%- set longest_empty_slots -%}
max(greatest(
            slot - greatest(coalesce(previous_slot + 1, day_index * {{ slots_per_day }}),
                            day_index * {{ slots_per_day }}),
            least(coalesce(next_slot, {{ history_days * slots_per_day }}),
                  (day_index + 1) * {{ slots_per_day }}) - slot - 1
        ))
{%- endset -%}
with

numbers as (

    {{ dbt.generate_series(history_days) }}

),

days as (

    select
        cast({{ dbt.dateadd('day', '-(generated_number - 1)', last_day()) }} as date)
            as metric_date
    from numbers

),
{% for table in tables %}
{%- set name = table.name -%}
{%- set dims = row_dimensions.get(name, []) -%}
{%- set cuts = profile_dimensions.get(name, []) + money_dimensions.get(name, []) -%}
{%- set all_dims = [] -%}
{%- for dimension in dims + cuts if dimension not in all_dims -%}
    {%- do all_dims.append(dimension) -%}
{%- endfor -%}
{%- set content = [] -%}
{%- for column in table.content_columns -%}
    {%- do content.append('source_rows.' ~ column) -%}
{%- endfor -%}
{%- set time = ('source_rows.' ~ table.event_time) if table.event_time else 'via.event_at' %}

{#- duplicates are counted on a consistent sample of about duplicate_sample_rows rows: a
    row and its copies share a hash, so they are in or out together -#}
{{ name }}_sampling as (

    select
        cast(greatest(1, ceil({{ float_divide('count(*)', duplicate_sample_rows) }}))
            as {{ dbt.type_bigint() }}) as sample_every
    from {{ source(table.source_name, name) }}

),

{{ name }}_rows as (

    select
        cast({{ time }} as date) as metric_date,
        {{ row_hash(content) }} as row_hash,
        sampling.sample_every,
        {%- for column in table.columns %}
        source_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source(table.source_name, name) }} as source_rows
    cross join {{ name }}_sampling as sampling
    {%- if table.via %}
    inner join (
        select {{ table.via.ref_column }} as via_key, min({{ table.via.ref_time }}) as event_at
        from {{ source(table.via.ref_source, table.via.ref_name) }}
        group by {{ table.via.ref_column }}
    ) as via
        on source_rows.{{ table.via.fk_column }} = via.via_key
    {%- endif %}
    where {{ time }} >= {{ window_start }}
      and {{ time }} < {{ as_of_ts() }}

),

{{ name }}_cells as (

    select
        metric_date,
        {%- for dimension in all_dims %}
        {{ dimension }},
        {%- endfor %}
        count(*) as row_count,
        {%- for column in table.columns %}
        count({{ column }}) as filled_{{ column }},
        {%- endfor %}
        {%- for column in table.money_columns %}
        sum(cast({{ column }} as {{ type_double() }})) as sum_{{ column }},
        {%- endfor %}
        count(case when {{ hash_bucket('row_hash', 'sample_every') }} = 0 then 1 end)
            as sampled_rows,
        count(distinct case when {{ hash_bucket('row_hash', 'sample_every') }} = 0
            then row_hash end) as distinct_sampled_rows
    from {{ name }}_rows
    group by
        metric_date
        {%- for dimension in all_dims %},
        {{ dimension }}
        {%- endfor %}

),

{{ name }}_slices as (

    select
        metric_date,
        {{ slice_columns(all_dims) | indent(8) }},
        sum(row_count) as row_count,
        {%- for column in table.columns %}
        sum(filled_{{ column }}) as filled_{{ column }},
        {%- endfor %}
        {%- for column in table.money_columns %}
        sum(sum_{{ column }}) as sum_{{ column }},
        {%- endfor %}
        sum(sampled_rows) as sampled_rows,
        sum(distinct_sampled_rows) as distinct_sampled_rows
    from {{ name }}_cells
    {{ group_by_slices('metric_date', all_dims) }}

),

{%- set measures = [(name ~ '.row_count', 'row_count', 'row_count', 'row_count', '0', dims)] -%}
{%- do measures.append((name ~ '.duplicate_share',
    'cast(sampled_rows - distinct_sampled_rows as ' ~ type_double() ~ ')'
    ~ ' / nullif(sampled_rows, 0)',
    'sampled_rows', 'share', 'null', profile_dimensions.get(name, []))) -%}
{%- for column in table.columns -%}
    {%- do measures.append((name ~ '.' ~ column ~ '.null_share',
        'cast(row_count - filled_' ~ column ~ ' as ' ~ type_double() ~ ') / row_count',
        'row_count', 'share', 'null', profile_dimensions.get(name, []))) -%}
{%- endfor -%}
{%- for column in table.money_columns -%}
    {%- do measures.append((name ~ '.' ~ column ~ '.sum', 'coalesce(sum_' ~ column ~ ', 0)',
        'filled_' ~ column, 'sum', '0', money_dimensions.get(name, []))) -%}
    {%- do measures.append((name ~ '.' ~ column ~ '.mean',
        'sum_' ~ column ~ ' / nullif(filled_' ~ column ~ ', 0)',
        'filled_' ~ column, 'mean', 'null', money_dimensions.get(name, []))) -%}
{%- endfor %}

{{ name }}_measures as (

    {%- for metric, _value, _volume, kind, fill, cut in measures %}
    select '{{ metric }}' as metric, cast({{ fill }} as {{ type_double() }}) as fill_value
    {{- '' if loop.last else '\n    union all' }}
    {%- endfor %}

),

{{ name }}_long as (

    select
        measures.metric,
        slices.dimension,
        slices.dimension_value,
        slices.metric_date,
        case measures.metric
            {%- for metric, value, _volume, kind, fill, cut in measures %}
            when '{{ metric }}' then {{ value }}
            {%- endfor %}
        end as value,
        case measures.metric
            {%- for metric, _value, volume, kind, fill, cut in measures %}
            when '{{ metric }}' then {{ volume }}
            {%- endfor %}
        end as volume,
        measures.fill_value
    from {{ name }}_slices as slices
    cross join {{ name }}_measures as measures
    {#- the total, and the slices each metric is cut by -#}
    {%- set cut_groups = {} -%}
    {%- for metric, _value, _volume, kind, fill, cut in measures if cut -%}
        {%- do cut_groups.setdefault(cut | join("', '"), []).append(metric) -%}
    {%- endfor %}
    where slices.dimension = 'all'
        {%- for cut, metrics in cut_groups.items() %}
        or (slices.dimension in ('{{ cut }}')
            and measures.metric in ('{{ metrics | join("', '") }}'))
        {%- endfor %}

),

{%- set gap_dims = profile_dimensions.get(name, []) %}
{#- gaps of a table timed by another's (receipt_items) are that table's gaps -#}
{%- if table.event_time %}

{#- read from the source again (two columns), so that no CTE holds the source's rows -#}
{{ name }}_slots as (

    select
        {%- for dimension in gap_dims %}
        {{ dimension }},
        {%- endfor %}
        slot,
        count(*) as row_count
    from (
        select
            {%- for dimension in gap_dims %}
            {{ dimension }},
            {%- endfor %}
            cast(floor({{ float_divide(dbt.datediff(window_start, time, 'second'),
                                       slot_minutes * 60) }})
                as {{ dbt.type_bigint() }}) as slot
        from {{ source(table.source_name, name) }} as source_rows
        where {{ time }} >= {{ window_start }}
          and {{ time }} < {{ as_of_ts() }}
    ) as timed
    group by
        {%- for dimension in gap_dims %}
        {{ dimension }},
        {%- endfor %}
        slot

),

{{ name }}_slot_slices as (

    select 'all' as dimension, 'all' as dimension_value, slot, sum(row_count) as row_count
    from {{ name }}_slots
    group by slot
    {%- for dimension in gap_dims %}
    union all
    select
        '{{ dimension }}',
        coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(null)'),
        slot,
        row_count
    from {{ name }}_slots
    {%- endfor %}

),

{{ name }}_neighbours as (

    select
        dimension,
        dimension_value,
        slot,
        row_count,
        cast(floor({{ float_divide('slot', slots_per_day) }}) as {{ dbt.type_bigint() }})
            as day_index,
        lag(slot) over (partition by dimension, dimension_value order by slot) as previous_slot,
        lead(slot) over (partition by dimension, dimension_value order by slot) as next_slot
    from {{ name }}_slot_slices

),

{#- the day's longest stretch without a row, in hours of whole slots (float_divide: a
    double on both engines, not Spark's 6-place decimal) -#}
{{ name }}_gaps as (

    select
        '{{ name }}.max_gap_hours' as metric,
        dimension,
        dimension_value,
        cast({{ dbt.dateadd('day', 'cast(day_index as ' ~ dbt.type_int() ~ ')', first_day) }} as date)
            as metric_date,
        {{ float_divide(longest_empty_slots ~ ' * ' ~ slot_minutes, 60) }} as value,
        sum(row_count) as volume,
        cast(24 as {{ type_double() }}) as fill_value
    from {{ name }}_neighbours
    group by dimension, dimension_value, day_index

),
{%- endif %}
{% endfor %}

activity as (

    select
        activity_daily.activity_date as metric_date,
        users.platform
    from {{ ref('int_user_activity_daily') }} as activity_daily
    left join {{ ref('dim_users') }} as users
        on activity_daily.user_id = users.user_id
    where activity_daily.activity_date >= {{ first_day }}
      and activity_daily.activity_date <= {{ last_day() }}

),

dau as (

    select
        'dau' as metric,
        {{ slice_columns(['platform']) | indent(8) }},
        metric_date,
        count(*) as value,
        count(*) as volume,
        cast(0 as {{ type_double() }}) as fill_value
    from activity
    {{ group_by_slices('metric_date', ['platform']) }}

),

receipts_scanned as (

    select
        cast(scanned_at as date) as metric_date,
        store_name,
        status
    from {{ ref('fct_receipts') }}
    where scanned_at >= {{ window_start }}
      and scanned_at < {{ as_of_ts() }}

),

receipt_slices as (

    select
        metric_date,
        {{ slice_columns(['store_name']) | indent(8) }},
        count(*) as scanned,
        sum(case when status = 'accepted' then 1 else 0 end) as accepted,
        sum(case when status = 'rejected' then 1 else 0 end) as rejected
    from receipts_scanned
    {{ group_by_slices('metric_date', ['store_name']) }}

),

receipt_series as (

    {%- for metric, value, fill in [
        ('receipts_accepted', 'accepted', '0'),
        ('receipts_rejected', 'rejected', '0'),
        ('receipt_rejection_rate',
         'cast(rejected as ' ~ type_double() ~ ') / scanned', 'null')] %}
    select
        '{{ metric }}' as metric,
        dimension,
        dimension_value,
        metric_date,
        {{ value }} as value,
        scanned as volume,
        cast({{ fill }} as {{ type_double() }}) as fill_value
    from receipt_slices
    {{- '' if loop.last else '\n    union all' }}
    {%- endfor %}

),

ledger as (

    select
        created_date as metric_date,
        entry_type,
        amount_cents,
        {{ ledger_earned_cents() | indent(8) }} as earned_cents
    from {{ ref('fct_rewards_ledger') }}
    where created_at >= {{ window_start }}
      and created_at < {{ as_of_ts() }}

),

earned as (

    select
        'dollars_earned' as metric,
        {{ slice_columns(['entry_type']) | indent(8) }},
        metric_date,
        {{ float_divide('sum(earned_cents)', 100) }} as value,
        count(*) as volume,
        cast(0 as {{ type_double() }}) as fill_value
    from ledger
    where earned_cents > 0
    {{ group_by_slices('metric_date', ['entry_type']) }}

),

redeemed as (

    select
        'dollars_redeemed' as metric,
        'all' as dimension,
        'all' as dimension_value,
        metric_date,
        -{{ float_divide('sum(amount_cents)', 100) }} as value,
        count(*) as volume,
        cast(0 as {{ type_double() }}) as fill_value
    from ledger
    where entry_type = 'redeem'
    group by metric_date

),

invites as (

    select
        cast(sent_at as date) as metric_date,
        channel
    from {{ ref('fct_referrals') }}
    where sent_at >= {{ window_start }}
      and sent_at < {{ as_of_ts() }}

),

invites_sent as (

    select
        'invites_sent' as metric,
        {{ slice_columns(['channel']) | indent(8) }},
        metric_date,
        count(*) as value,
        count(*) as volume,
        cast(0 as {{ type_double() }}) as fill_value
    from invites
    {{ group_by_slices('metric_date', ['channel']) }}

),

observed as (

    {%- for table in tables %}
    select metric, dimension, dimension_value, metric_date, value, volume, fill_value
    from {{ table.name }}_long
    union all
    {%- if table.event_time %}
    select metric, dimension, dimension_value, metric_date, value, volume, fill_value
    from {{ table.name }}_gaps
    union all
    {%- endif %}
    {%- endfor %}
    {%- for business in ['dau', 'receipt_series', 'earned', 'redeemed', 'invites_sent'] %}
    select metric, dimension, dimension_value, metric_date, value, volume, fill_value
    from {{ business }}
    {{- '' if loop.last else '\n    union all' }}
    {%- endfor %}

),

series as (

    select
        metric,
        dimension,
        dimension_value,
        min(metric_date) as first_date,
        max(fill_value) as fill_value
    from observed
    group by metric, dimension, dimension_value

),

final as (

    select
        series.metric,
        series.dimension,
        series.dimension_value,
        cast(coalesce(observed.value, series.fill_value) as {{ type_double() }}) as value,
        cast(coalesce(observed.volume, 0) as {{ dbt.type_bigint() }}) as volume,
        days.metric_date
    from series
    cross join days
    left join observed
        on series.metric = observed.metric
        and series.dimension = observed.dimension
        and series.dimension_value = observed.dimension_value
        and days.metric_date = observed.metric_date
    where days.metric_date >= series.first_date
      and (observed.metric is not null or series.fill_value is not null)

)

select * from final
