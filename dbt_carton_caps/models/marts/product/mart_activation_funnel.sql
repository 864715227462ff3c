{# grain: one row per install week (ISO week, Monday) and funnel stage #}
{#- Ordered (docs/design.md#activation-funnel): a user counts at a stage only if they
    counted at every earlier stage and first reached each stage at or after first reaching
    the one before, all within var activation_window_days of install; so users never grow
    from one stage to the next. The any-order view is mart_activation_stage_reach. -#}
{{ activation_stage_counts(sequential=true) }}
