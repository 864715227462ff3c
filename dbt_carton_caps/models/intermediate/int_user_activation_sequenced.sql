{# grain: one row per user (user_id) with the moment they reached each activation stage in funnel order #}
{#- Ordered, as product-analytics tools define a funnel (docs/design.md#activation-funnel):
    each stage is the user's FIRST qualifying event AT OR AFTER the moment they reached the
    previous stage, not their first-ever one; null when there is none. So a referral bonus
    earned before the first accepted receipt does not hide the caps that receipt earned.
    The window (var activation_window_days) is applied by the funnel mart: since each moment
    is at or after the one before, a stage inside the window has every earlier one inside. -#}
with

milestones as (

    select
        user_id,
        installed_at,
        signed_up_at,
        school_linked_at
    from {{ ref('int_user_milestones_collected') }}

),

accepted_receipts as (

    select
        user_id,
        scanned_at
    from {{ ref('stg_event_exports__receipts') }}
    where {{ is_accepted_receipt() }}

),

rewards_earned as (

    select
        user_id,
        created_at
    from {{ ref('stg_event_exports__rewards_ledger') }}
    where {{ is_reward_earned() }}

),

{#- sign-up and school link happen once per user: each counts when at or after the stage
    before it -#}
linked as (

    select
        user_id,
        installed_at,
        case when signed_up_at >= installed_at then signed_up_at end as signed_up_at,
        case
            when signed_up_at >= installed_at and school_linked_at >= signed_up_at
                then school_linked_at
        end as school_linked_at
    from milestones

),

receipt_after_link as (

    select
        linked.user_id,
        min(accepted_receipts.scanned_at) as first_accepted_receipt_at
    from linked
    inner join accepted_receipts
        on linked.user_id = accepted_receipts.user_id
        and accepted_receipts.scanned_at >= linked.school_linked_at
    group by linked.user_id

),

reward_after_receipt as (

    select
        receipt_after_link.user_id,
        min(rewards_earned.created_at) as first_reward_at
    from receipt_after_link
    inner join rewards_earned
        on receipt_after_link.user_id = rewards_earned.user_id
        and rewards_earned.created_at >= receipt_after_link.first_accepted_receipt_at
    group by receipt_after_link.user_id

),

final as (

    select
        linked.user_id,
        linked.installed_at,
        linked.signed_up_at,
        linked.school_linked_at,
        receipt_after_link.first_accepted_receipt_at,
        reward_after_receipt.first_reward_at
    from linked
    left join receipt_after_link on linked.user_id = receipt_after_link.user_id
    left join reward_after_receipt on linked.user_id = reward_after_receipt.user_id

)

select * from final
