{# grain: one row per US state (state) with at least one school #}
{#- schools = schools in the state; dollars_raised = paid redemptions to those schools (see
    mart_school_fundraising); liability = unspent rewards attributed to those schools at the
    as-of date. -#}
select
    state,
    cast(count(*) as {{ dbt.type_bigint() }}) as schools,
    cast(sum(case when dollars_raised > 0 then 1 else 0 end) as {{ dbt.type_bigint() }})
        as schools_with_donations,
    cast(sum(supporters) as {{ dbt.type_bigint() }}) as supporters,
    cast(sum(dollars_raised) as decimal(12, 2)) as dollars_raised,
    cast(sum(liability_dollars) as decimal(12, 2)) as liability_dollars
from {{ ref('mart_school_fundraising') }}
group by state
