export { GetRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
