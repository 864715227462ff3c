{# grain: one row per install week (ISO week, Monday) and funnel stage #}
{#- Stage reach in ANY order (docs/design.md#activation-stage-reach-any-order): each stage
    counted on its own (first reached within var activation_window_days of install), whether
    or not the earlier stages were reached first. Not a funnel: a later stage may hold more
    users than an earlier one (e.g. a welcome bonus earned by linking a school before any
    accepted receipt). The funnel is mart_activation_funnel. -#}
{{ activation_stage_counts(sequential=false) }}
